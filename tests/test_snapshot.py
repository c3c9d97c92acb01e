"""envgen.migrate.snapshot / envgen.migrate.listings: every listing format, origins kept, hostile input refused, --current."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envgen.errors import BadInput
from envgen.matrix.migrate import load_migrate_data
from envgen.migrate import packages, snapshot
from envgen.migrate.listings import current
from envgen.models import Accel

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data" / "migrate"


@pytest.fixture(scope="module")
def mdata():
    return load_migrate_data(ROOT / "matrices")


FORMAT_CASES = [
    # id, file, format, platform, {name: (installer, version, channel)}
    ("conda-list-peterjc123", "p123-win.conda-list.txt", "conda-list", "win-64",
     {"pytorch": ("conda", "0.3.1", "peterjc123"), "cuda90": ("conda", "1.0", "peterjc123"),
      "vc": ("conda", "14", "peterjc123"), "numpy": ("conda", "1.14.2", "defaults"),
      "torchvision": ("pip", "0.2.0", None)}),
    ("explicit-mirror", "pt112-cu113.explicit.txt", "conda-explicit", "linux-64",
     {"pytorch": ("conda", "1.12.1", "pytorch"), "cudatoolkit": ("conda", "11.3.1", "defaults"),
      "pytorch-mutex": ("conda", "1.0", "pytorch")}),
    ("conda-json", "pt251.conda-json.json", "conda-json", "linux-64",
     {"pytorch": ("conda", "2.5.1", "pytorch"), "mkl": ("conda", "2023.1.0", "defaults"),
      "cuda-version": ("conda", "12.4", "nvidia"), "tqdm": ("pip", "4.66.5", None)}),
    ("env-export", "pt251.env-export.yml", "conda-env", None,
     {"pytorch": ("conda", "2.5.1", None), "tqdm": ("pip", "4.66.5", None)}),
    ("conda-list-with-pypi", "mixed181.conda-list.txt", "conda-list", None,
     {"pytorch": ("conda", "1.8.1", "pytorch"), "torch": ("pip", "1.8.1+cu102", None),
      "cudatoolkit": ("conda", "10.2.89", "defaults")}),
    ("pip-freeze", "mixed181.pip-freeze.txt", "pip-freeze", None,
     {"torch": ("pip", "1.8.1+cu102", None), "nvidia-ml-py": ("pip", "11.495.46", None),
      "typing-extensions": ("pip", "3.7.4.3", None)}),
    ("pip-json", "cpu-mistake.pip-list.json", "pip-json", None,
     {"torch": ("pip", "2.5.1+cpu", None), "torchvision": ("pip", "0.20.1+cpu", None)}),
]


@pytest.mark.parametrize("file,fmt,platform,expected", [c[1:] for c in FORMAT_CASES], ids=[c[0] for c in FORMAT_CASES])
def test_reads_each_format(mdata, file, fmt, platform, expected):
    text = (DATA / file).read_text(encoding="utf-8")
    assert snapshot.detect(text) == fmt
    snap = snapshot.parse(text, mdata, origin=file)
    assert snap.formats == (fmt,) and len(snap.digest) == 64
    assert snap.platform == platform
    for name, (installer, version, channel) in expected.items():
        pkg = snap.find(name, installer)
        assert pkg is not None, name
        assert (pkg.version, pkg.channel) == (version, channel), name


def test_env_export_keeps_name_prefix_and_channels(mdata):
    snap = snapshot.read([DATA / "pt251.env-export.yml"], mdata)
    assert (snap.name, snap.prefix) == ("pt25", "/home/ana/miniconda3/envs/pt25")
    assert snap.channels == ("pytorch", "nvidia", "defaults")


def test_conda_list_prefix_gives_name_and_windows_platform(mdata):
    snap = snapshot.read([DATA / "p123-win.conda-list.txt"], mdata)
    assert snap.name == "torch03" and snap.prefix.startswith("C:\\Users")


LOCAL_CASES = [
    ("cu102", "1.8.1+cu102", "cu102"),
    ("cpu", "2.5.1+cpu", "cpu"),
    ("none", "2.5.1", None),
]


@pytest.mark.parametrize("version,tag", [c[1:] for c in LOCAL_CASES], ids=[c[0] for c in LOCAL_CASES])
def test_pip_local_tag(version, tag):
    pkg = packages.pip_package("torch", version, "t")
    assert pkg.local == (tag if tag else None)
    assert packages.pip_accel(pkg) == (Accel.parse(tag) if tag else None)


ACCEL_CASES = [
    ("peterjc123-cu90", "pytorch", "py36_cuda90_cudnn7he774522_2", "cu90"),
    ("pytorch-cu113", "pytorch", "py3.9_cuda11.3_cudnn8.3.2_0", "cu113"),
    ("pytorch-cpu-build", "pytorch", "py3.8_cpu_0", "cpu"),
    ("conda-forge-cuda", "pytorch", "cuda118_py311h8b2b6c9_300", "cu118"),
    ("conda-forge-cpu", "pytorch", "cpu_mkl_py311h0a24a59_100", "cpu"),
    ("pytorch-cpu-name", "pytorch-cpu", "py36_cpu_1", "cpu"),
    ("unknown", "pytorch", "py36_0", None),
]


@pytest.mark.parametrize("name,build,tag", [c[1:] for c in ACCEL_CASES], ids=[c[0] for c in ACCEL_CASES])
def test_conda_accel_from_build(name, build, tag):
    pkg = packages.Package(name, "1.0", "conda", "pytorch", build)
    assert packages.conda_accel(pkg) == (Accel.parse(tag) if tag else None)


URL_CASES = [
    ("anaconda-org", "https://conda.anaconda.org/pytorch/linux-64", "pytorch"),
    ("repo-main", "https://repo.anaconda.com/pkgs/main", "defaults"),
    ("tuna-cloud", "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/conda-forge", "conda-forge"),
    ("ustc-main", "https://mirrors.ustc.edu.cn/anaconda/pkgs/main/win-64", "defaults"),
    ("credentials", "https://user:secret@conda.anaconda.org/nvidia", "nvidia"),
    ("alias", "pkgs/main", "defaults"),
    ("unknown-strips-credentials", "https://u:p@artifacts.example/conda/x", "https://artifacts.example/conda/x"),
]


@pytest.mark.parametrize("url,channel", [c[1:] for c in URL_CASES], ids=[c[0] for c in URL_CASES])
def test_channel_urls_map_back(mdata, url, channel):
    assert mdata.channel_of(url) == channel


def test_merge_prefers_pip_listing_and_drops_conda_file_urls(mdata):
    snap = snapshot.read([DATA / "mixed181.conda-list.txt", DATA / "mixed181.pip-freeze.txt"], mdata)
    assert snap.formats == ("conda-list", "pip-freeze")
    assert snap.find("numpy", "pip") is None  # `numpy @ file://` is conda's own numpy
    assert snap.find("numpy", "conda").version == "1.19.2"
    assert snap.find("nvidia-ml-py", "pip").version == "11.495.46"
    assert snap.find("torch", "pip").local == "cu102"
    assert snap.find("pytorch", "conda").channel == "pytorch"


HOSTILE = [
    ("conda-name-semicolon", "conda-list", "evil;rm -rf ~  1.0  0  pytorch\n", "not a valid conda package name"),
    ("conda-version-dollar", "conda-list", "pytorch  $(id)  0  pytorch\n", "not a valid conda version"),
    ("conda-build-backtick", "conda-list", "pytorch  1.0  `id`  pytorch\n", "build string"),
    ("pip-name-quote", "pip-freeze", "tor'ch==1.0\n", "not a pinned requirement"),
    ("pip-version", "pip-freeze", "torch==1.0$(id)\n", "not a valid version"),
    ("pip-json-name", "pip-json", '[{"name": "a b", "version": "1"}]', "not a valid pip project name"),
    ("explicit-name", "conda-explicit", "@EXPLICIT\nhttps://x.org/c/linux-64/a&b-1.0-0.tar.bz2\n",
     "not a valid conda package name"),
    ("env-export", "conda-env", "dependencies:\n  - 'pytorch=1.0=$(id)'\n", "build string"),
]


@pytest.mark.parametrize("fmt,text,message", [c[1:] for c in HOSTILE], ids=[c[0] for c in HOSTILE])
def test_hostile_names_are_refused(mdata, fmt, text, message):
    with pytest.raises(BadInput) as info:
        snapshot.parse(text, mdata, fmt=fmt, origin="env.txt")
    assert message in info.value.message and info.value.hint
    assert "env.txt" in info.value.message


def test_unrecognised_input_lists_formats(mdata):
    with pytest.raises(BadInput) as info:
        snapshot.parse("<html>hello</html>", mdata, origin="page.html")
    assert "page.html" in info.value.message
    for fmt in snapshot.FORMATS:
        assert fmt in info.value.hint


def test_unknown_format_flag(mdata):
    with pytest.raises(BadInput, match="unknown format"):
        snapshot.parse("torch==1", mdata, fmt="yaml")


def test_not_utf8(mdata, tmp_path):
    path = tmp_path / "list.txt"
    path.write_bytes("torch==1.0\n".encode("utf-16"))
    with pytest.raises(BadInput, match="not UTF-8"):
        snapshot.read([path], mdata)


def test_current_reads_conda_meta_and_distributions(mdata, tmp_path):
    prefix = tmp_path / "envs" / "work"
    meta = prefix / "conda-meta"
    meta.mkdir(parents=True)
    records = [
        {"name": "pytorch", "version": "1.12.1", "build": "py3.9_cuda11.3_cudnn8.3.2_0", "subdir": "linux-64",
         "channel": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/pytorch/linux-64",
         "url": "https://mirrors.tuna.tsinghua.edu.cn/anaconda/cloud/pytorch/linux-64/pytorch-1.12.1-x.tar.bz2"},
        {"name": "numpy", "version": "1.23.5", "build": "py39h14f4228_0", "subdir": "linux-64",
         "channel": "https://repo.anaconda.com/pkgs/main/linux-64"},
    ]
    for rec in records:
        (meta / f"{rec['name']}-{rec['version']}-{rec['build']}.json").write_text(json.dumps(rec))
    site = prefix / "lib" / "python3.9" / "site-packages"
    for name, version, installer in [("torch", "1.12.1", "conda"), ("numpy", "1.23.5", ""),
                                     ("torchvision", "0.13.1+cu113", "pip"), ("nvidia_cublas_cu11", "11.10.3.66", "pip")]:
        info = site / f"{name}-{version}.dist-info"
        info.mkdir(parents=True)
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        if installer:
            (info / "INSTALLER").write_text(installer + "\n")
    snap = current(mdata, prefix=prefix, paths=[str(site)])
    assert snap.platform == "linux-64" and snap.name == "work" and snap.prefix == str(prefix)
    assert snap.find("pytorch", "conda").channel == "pytorch"
    assert snap.find("numpy", "conda").channel == "defaults"
    assert snap.find("torch", "pip") is None  # INSTALLER says conda
    assert snap.find("numpy", "pip") is None  # no INSTALLER, same version as conda's numpy
    assert snap.find("torchvision", "pip").local == "cu113"
    assert snap.find("nvidia-cublas-cu11", "pip") is not None
    assert snap.formats == ("current",)


def test_current_of_a_plain_venv_is_pip_only(mdata, tmp_path):
    site = tmp_path / "site"
    info = site / "torch-2.5.1+cpu.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: torch\nVersion: 2.5.1+cpu\n")
    snap = current(mdata, prefix=tmp_path, paths=[str(site)])
    assert snap.prefix is None and snap.of("conda") == ()
    assert snap.find("torch", "pip").local == "cpu"
