"""The files `--from` reads besides environment.yml: pip requirements, pyproject.toml, pixi.toml.

Real public files (tests/data/inputs/, each naming its source in its first lines) are read into the expected
`EnvFile`; conversions and options are table-driven on small files written under tmp_path; hostile files (wrong
types, deep nesting, include cycles, huge) are BadInput with a hint, never a traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from envgen.compile.envfile import EnvFile
from envgen.compile.pixi import conda_spec
from envgen.compile.sources import kind_of, read_inputs
from envgen.errors import BadInput

DATA = Path(__file__).parent / "data" / "inputs"


def env(**fields: Any) -> EnvFile:
    base: dict[str, Any] = {"name": None, "channels": [], "conda": [], "pip": [], "platforms": [], "index_url": None,
                            "extra_index_urls": [], "find_links": []}
    return EnvFile(**{**base, **fields})  # type: ignore[typeddict-item]


LEROBOT_CORE = [
    "datasets>=4.0.0", "diffusers>=0.27.2", "huggingface-hub[hf-transfer,cli]>=0.34.2", "cmake>=3.29.0.1", "einops>=0.8.0",
    "opencv-python-headless>=4.9.0", "av>=14.2.0", "jsonlines>=4.0.0", "packaging>=24.2", "pynput>=1.7.7", "pyserial>=3.5",
    "wandb>=0.20.0", "torch>=2.2.1,<2.8.0",
    "torchcodec>=0.2.1,<0.6.0; sys_platform != 'win32' and (sys_platform != 'linux' or (platform_machine != 'aarch64' and platform_machine != 'arm64' and platform_machine != 'armv7l')) and (sys_platform != 'darwin' or platform_machine != 'x86_64')",
    "torchvision>=0.21.0,<0.23.0", "draccus==0.10.0", "gymnasium>=0.29.1,<=1.1.0", "rerun-sdk>=0.21.0,<0.23.0",
    "deepdiff>=7.0.1,<9.0.0", "imageio[ffmpeg]>=2.34.0,<3.0.0", "termcolor>=2.4.0,<4.0.0",
]
TORCHSERVE = ["cython==3.0.5", "wheel==0.42.0", "pillow==10.0.1", "numpy==1.24.3; sys_platform != 'win32'",
              "numpy==1.22.0; sys_platform == 'win32'", "torch==2.2.0+cu121; sys_platform == 'linux'",
              "torchvision==0.17.0+cu121; sys_platform == 'linux'", "torchtext==0.17.0; sys_platform == 'linux'",
              "torchaudio==2.2.0+cu121; sys_platform == 'linux'"]


@pytest.mark.parametrize(("rel", "group", "expected"), [
    ("pixi-pytorch-gpu-example/pixi.toml", (), env(
        name="pytorch-gpu-pixi-example", channels=["conda-forge"], platforms=["linux-64", "osx-arm64"],
        conda=["pytorch>=2.8.0,<3", "curl>=8.17.0,<9"])),
    ("pixi-conda-forge-envs/pixi.toml", (), env(
        name="pytorch-conda-forge", channels=["https://prefix.dev/conda-forge"], platforms=["linux-64"],
        conda=["cuda-version 12.6.*", "pytorch-gpu"])),
    ("pixi-conda-forge-envs/pixi.toml", ("cpu",), env(
        name="pytorch-conda-forge", channels=["https://prefix.dev/conda-forge"], platforms=["linux-64"],
        conda=["pytorch-cpu"])),
    ("pixi-pypi-envs/pixi.toml", (), env(
        name="pytorch-pypi-envs", channels=["https://prefix.dev/conda-forge"], platforms=["linux-64", "win-64"],
        conda=["python>=3.11,<3.13"], pip=["torch>=2.5.1", "torchvision>=0.20.1"],
        extra_index_urls=["https://download.pytorch.org/whl/cpu"])),
    ("pixi-pypi-envs/pixi.toml", ("gpu",), env(
        name="pytorch-pypi-envs", channels=["https://prefix.dev/conda-forge"], platforms=["linux-64", "win-64"],
        conda=["python>=3.11,<3.13"], pip=["torch>=2.5.1", "torchvision>=0.20.1"],
        extra_index_urls=["https://download.pytorch.org/whl/cu124"])),
    ("lerobot/pyproject.toml", (), env(name="lerobot", pip=LEROBOT_CORE)),
    ("lerobot/pyproject.toml", ("hilserl", "Video-Benchmark"), env(name="lerobot", pip=[
        *LEROBOT_CORE, "transformers>=4.53.0", "gym-hil>=0.1.11", "grpcio==1.73.1", "protobuf==6.31.0", "placo>=0.9.6",
        "scikit-image>=0.23.2", "pandas>=2.2.2"])),
    ("uv-pytorch-extras/pyproject.toml", (), env(name="project", pip=["torch"])),
    ("uv-pytorch-extras/pyproject.toml", ("cu124",), env(
        name="project", pip=["torch", "torch>=2.6.0", "torchvision>=0.21.0"],
        extra_index_urls=["https://download.pytorch.org/whl/cu124"])),
    ("torchserve/torch_cu121_linux.txt", (), env(pip=TORCHSERVE,
                                                 extra_index_urls=["https://download.pytorch.org/whl/cu121"])),
    ("kohya-ss/requirements.txt", (), env(pip=[
        "accelerate==0.25.0", "transformers==4.36.2", "diffusers[torch]==0.25.0", "ftfy==6.1.1", "opencv-python==4.7.0.68",
        "einops==0.7.0", "pytorch-lightning==1.9.0", "tensorboard==2.10.1", "safetensors==0.4.2", "altair==4.2.2",
        "easygui==0.98.3", "toml==0.10.2", "voluptuous==0.13.1", "huggingface-hub==0.20.1", "open-clip-torch==2.20.0",
        "rich==13.7.0", "-e ."])),
], ids=["pixi-gpu-example", "pixi-envs-default", "pixi-envs-cpu", "pixi-pypi-default", "pixi-pypi-gpu", "lerobot",
        "lerobot-extras", "uv-extras-none", "uv-extras-cu124", "torchserve-include", "kohya-requirements"])
def test_real_files(rel: str, group: tuple[str, ...], expected: EnvFile) -> None:
    assert read_inputs(DATA / rel, group) == expected


def test_real_file_pip_refuses_is_refused_at_its_line() -> None:
    with pytest.raises(BadInput) as err:
        read_inputs(DATA / "kohya-ss/requirements_linux.txt")
    assert "requirements_linux.txt:1" in err.value.message and "--extra-index-url" in err.value.message
    assert err.value.hint


@pytest.mark.parametrize(("value", "expected"), [
    (">=2.1,<2.3", "pytorch>=2.1,<2.3"),
    (">= 2.1, < 2.3", "pytorch>=2.1,<2.3"),
    ("3.11.*", "pytorch 3.11.*"),
    ("*", "pytorch"),
    ("", "pytorch"),
    ("==2.1.0", "pytorch==2.1.0"),
    ("2.1.0", "pytorch 2.1.0"),
    ("1.2|1.3", "pytorch 1.2|1.3"),
    ("2.1.* cuda*", "pytorch 2.1.* cuda*"),
    ({"version": "2.1.*", "build": "cuda*", "channel": "pytorch"}, "pytorch::pytorch 2.1.* cuda*"),
    ({"build": "*cuda*"}, "pytorch * *cuda*"),
    ({"channel": "https://prefix.dev/conda-forge"}, "https://prefix.dev/conda-forge::pytorch"),
    ({"version": ">=2"}, "pytorch>=2"),
], ids=["range", "range-spaces", "star-version", "any", "empty", "exact", "bare-version", "or", "version-build",
        "table-all", "table-build", "table-channel-url", "table-version"])
def test_pixi_specs_as_conda_match_specs(value: Any, expected: str) -> None:
    assert conda_spec("pytorch", value, "pixi.toml", "dependencies.pytorch") == expected


def _write(tmp_path: Path, files: dict[str, str | bytes]) -> Path:
    first = None
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        first = first or path
    assert first is not None
    return first


@pytest.mark.parametrize(("files", "expected"), [
    ({"requirements.txt": "numpy \\\n  >=1.24 ; python_version >= '3.9'  # pinned\n# comment\n\ntorch==2.1.0 --hash=sha256:abc \\\n  --hash=sha256:def\n"},
     env(pip=["numpy   >=1.24 ; python_version >= '3.9'", "torch==2.1.0"])),
    ({"requirements.txt": "-i https://a.example/simple\n--index-url=https://b.example/simple\n--extra-index-url https://x.example\n-f https://links.example\n--find-links=wheels\nfoo\n", "wheels/.keep": ""},
     None),
    ({"requirements.in": "-rsub/base.in\n--requirement=sub/base.in\nb\n", "sub/base.in": "-r more.txt\na\n", "sub/more.txt": "z @ https://h.example/z-1-py3-none-any.whl#sha256=00\n"},
     env(pip=["z @ https://h.example/z-1-py3-none-any.whl#sha256=00", "a", "z @ https://h.example/z-1-py3-none-any.whl#sha256=00", "a", "b"])),
    ({"requirements.txt": "-e ./pkg\n--editable git+https://g.example/r.git#egg=r\n./local\n"},
     env(pip=["-e ./pkg", "-e git+https://g.example/r.git#egg=r", "./local"])),
], ids=["continuations-comments-hashes", "index-options", "includes", "editables-and-paths"])
def test_requirements_files(tmp_path: Path, files: dict[str, str | bytes], expected: EnvFile | None) -> None:
    path = _write(tmp_path, files)
    if expected is None:  # the index options case: a relative find-links folder is taken from the file's folder
        expected = env(pip=["foo"], index_url="https://b.example/simple", extra_index_urls=["https://x.example"],
                       find_links=["https://links.example", str(tmp_path / "wheels")])
    assert read_inputs(path) == expected


PEP735 = """\
[project]
name = "My_Proj"
dependencies = ["numpy"]
[project.optional-dependencies]
cuda = ["cupy-cuda12x"]
all = ["my-proj[cuda]", "rich"]
[dependency-groups]
test = ["pytest", {include-group = "lint"}]
lint = ["ruff"]
cuda = ["nvtx"]
"""


@pytest.mark.parametrize(("group", "pip"), [
    ((), ["numpy"]),
    (("test",), ["numpy", "pytest", "ruff"]),
    (("ALL",), ["numpy", "cupy-cuda12x", "rich"]),
    (("cuda",), ["numpy", "cupy-cuda12x", "nvtx"]),
], ids=["none", "include-group", "self-extra", "extra-and-group"])
def test_pyproject_groups(tmp_path: Path, group: tuple[str, ...], pip: list[str]) -> None:
    path = _write(tmp_path, {"pyproject.toml": PEP735})
    assert read_inputs(path, group) == env(name="My_Proj", pip=pip)


def test_pyproject_dynamic_dependencies_read_the_setuptools_file(tmp_path: Path) -> None:
    path = _write(tmp_path, {
        "pyproject.toml": '[project]\nname = "p"\ndynamic = ["dependencies"]\n'
                          '[tool.setuptools.dynamic]\ndependencies = {file = ["requirements.txt"]}\n',
        "requirements.txt": "torch>=2\n"})
    assert read_inputs(path) == env(name="p", pip=["torch>=2"])


def test_uv_indexes(tmp_path: Path) -> None:
    path = _write(tmp_path, {"pyproject.toml": """\
[project]
name = "p"
dependencies = ["torch", "numpy"]
[tool.uv]
extra-index-url = ["https://legacy.example/simple"]
[[tool.uv.index]]
name = "main"
url = "https://main.example/simple"
default = true
[[tool.uv.index]]
name = "extra"
url = "https://extra.example/simple"
[[tool.uv.index]]
name = "pytorch-cu128"
url = "https://download.pytorch.org/whl/cu128"
explicit = true
[[tool.uv.index]]
name = "unused"
url = "https://unused.example/simple"
explicit = true
[tool.uv.sources]
torch = { index = "pytorch-cu128" }
torchvision = { index = "unused" }
"""})
    assert read_inputs(path) == env(
        name="p", pip=["torch", "numpy"], index_url="https://main.example/simple",
        extra_index_urls=["https://legacy.example/simple", "https://extra.example/simple", "https://download.pytorch.org/whl/cu128"])


PIXI_PYPROJECT = """\
[project]
name = "proj"
dependencies = ["einops"]
[project.optional-dependencies]
test = ["pytest"]
[tool.pixi.workspace]
channels = [{channel = "pytorch", priority = 1}, "conda-forge", {channel = "nvidia", priority = 2}]
platforms = ["linux-64"]
[tool.pixi.dependencies]
python = "3.11.*"
pytorch = {version = ">=2.1", channel = "pytorch"}
[tool.pixi.pypi-dependencies]
proj = { path = ".", editable = true }
timm = { version = "==0.9.12", extras = ["hub"] }
[tool.pixi.pypi-options]
index-url = "https://pypi.example/simple"
extra-index-urls = ["https://x.example/simple"]
find-links = [{url = "https://links.example"}, {path = "./wheels"}]
[tool.pixi.feature.cuda]
channels = ["nvidia/label/cuda-12.1.0"]
dependencies = {pytorch-cuda = "12.1.*"}
[tool.pixi.environments]
gpu = {features = ["cuda", "test"]}
bare = {features = ["cuda"], no-default-feature = true}
"""


@pytest.mark.parametrize(("group", "changes"), [
    ((), {}),
    (("gpu",), {"channels": ["nvidia", "pytorch", "conda-forge", "nvidia/label/cuda-12.1.0"],
                "conda": ["python 3.11.*", "pytorch::pytorch>=2.1", "pytorch-cuda 12.1.*"],
                "pip": ["einops", "pytest", "timm[hub]==0.9.12"]}),
    (("bare",), {"channels": ["nvidia", "pytorch", "conda-forge", "nvidia/label/cuda-12.1.0"],
                 "conda": ["pytorch-cuda 12.1.*"], "pip": [], "index_url": None, "extra_index_urls": [], "find_links": []}),
], ids=["default", "environment", "no-default-feature"])
def test_pixi_in_pyproject(tmp_path: Path, group: tuple[str, ...], changes: dict[str, Any]) -> None:
    path = _write(tmp_path, {"pyproject.toml": PIXI_PYPROJECT})
    assert kind_of(path) == "pixi"
    expected = env(name="proj", channels=["nvidia", "pytorch", "conda-forge"], platforms=["linux-64"],
                   conda=["python 3.11.*", "pytorch::pytorch>=2.1"], pip=["einops", "timm[hub]==0.9.12"],
                   index_url="https://pypi.example/simple", extra_index_urls=["https://x.example/simple"],
                   find_links=["https://links.example", "./wheels"])
    assert read_inputs(path, group) == {**expected, **changes}


# --- refusals and hostile files ---------------------------------------------------------------------------
DEEP = "a = " + "[" * 150 + "]" * 150 + "\n"
DEEPER = "a = " + "[" * 5000 + "]" * 5000 + "\n"


@pytest.mark.parametrize(("files", "group", "expected"), [
    # dispatch
    ({"setup.cfg": ""}, (), "not a file --from reads"),
    ({"requirements.txt": "numpy\n"}, ("dev",), "requirements files have no groups"),
    # requirements
    ({"requirements.txt": "-r b.txt\n", "b.txt": "-r requirements.txt\n"}, (), "include cycle"),
    ({"requirements.txt": "-r requirements.txt\n"}, (), "include cycle"),
    ({"requirements.txt": "-r d1.txt\n", **{f"d{i}.txt": f"-r d{i + 1}.txt\n" for i in range(1, 13)}, "d13.txt": "x\n"}, (), "nested deeper than 10"),
    ({"requirements.txt": "-r a.txt\n" * 101, "a.txt": "x\n"}, (), "more than 100 requirements files"),
    ({"requirements.txt": "-c constraints.txt\n"}, (), "constraints files are not supported"),
    ({"requirements.txt": "-r https://h.example/r.txt\n"}, (), "by URL is not supported"),
    ({"requirements.txt": "--pre\n"}, (), "pip option --pre is not supported"),
    ({"requirements.txt": "--index-url\n"}, (), "expected `--index-url VALUE`"),
    ({"requirements.txt": "torch==2.1 torchvision==0.16\n"}, (), "requirements.txt:1: not a requirement"),
    ({"requirements.txt": "numpy ; python_version == '3.9\n"}, (), "cannot split the line"),
    ({"requirements.txt": "-r missing.txt\n"}, (), "cannot read"),
    ({"requirements.txt": b"numpy\xff\n"}, (), "not UTF-8"),
    # pyproject
    ({"pyproject.toml": "[project\n"}, (), "not valid TOML"),
    ({"pyproject.toml": DEEP}, (), "nested deeper than 100"),
    ({"pyproject.toml": DEEPER}, (), "not readable as TOML"),
    ({"pyproject.toml": "a = " + "9" * 5000 + "\n"}, (), "not readable as TOML"),
    ({"pyproject.toml": "project = 3\n"}, (), "project: expected a table"),
    ({"pyproject.toml": '[project]\ndependencies = "numpy"\n'}, (), "project.dependencies: expected a list"),
    ({"pyproject.toml": "[project]\ndependencies = [1]\n"}, (), "project.dependencies[0]: expected text"),
    ({"pyproject.toml": '[project]\ndependencies = ["torch >>= 2"]\n'}, (), "project.dependencies[0]: not a requirement"),
    ({"pyproject.toml": '[project]\ndynamic = ["dependencies"]\n'}, (), "project.dependencies is dynamic"),
    ({"pyproject.toml": PEP735}, ("docs",), "no group 'docs'"),
    ({"pyproject.toml": '[dependency-groups]\na = [{include-group = "b"}]\nb = [{include-group = "a"}]\n'}, ("a",), "include cycle a -> b -> a"),
    ({"pyproject.toml": '[dependency-groups]\na = [{include = "b"}]\n'}, ("a",), "a[0]: expected a requirement or an include-group"),
    ({"pyproject.toml": '[project]\nname = "p"\n[project.optional-dependencies]\nx = ["p[nope]"]\n'}, ("x",), "unknown extra 'nope'"),
    ({"pyproject.toml": '[project]\ndependencies = ["torch"]\n[tool.uv.sources]\ntorch = { git = "https://g.example/t" }\n'}, (), "this source (git) is not supported"),
    ({"pyproject.toml": '[project]\ndependencies = ["torch"]\n[[tool.uv.index]]\nname = "a"\nurl = "https://a"\nexplicit = true\n'
                        '[[tool.uv.index]]\nname = "b"\nurl = "https://b"\nexplicit = true\n'
                        '[tool.uv.sources]\ntorch = [{index = "a", marker = "sys_platform == \'linux\'"}, {index = "b", marker = "sys_platform != \'linux\'"}]\n'}, (), "different indexes by marker"),
    ({"pyproject.toml": '[project]\ndependencies = ["torch"]\n[tool.uv.sources]\ntorch = { index = "nope" }\n'}, (), "index 'nope' is not a [[tool.uv.index]] name"),
    ({"pyproject.toml": '[tool.uv]\nindex = {url = "x"}\n'}, (), "tool.uv.index: expected [[tool.uv.index]] tables"),
    # pixi
    ({"pixi.toml": '[workspace]\nchannels = "conda-forge"\n'}, (), "workspace.channels: expected a list"),
    ({"pixi.toml": "[workspace]\nchannels = [3]\n"}, (), "workspace.channels[0]: expected a channel name"),
    ({"pixi.toml": "workspace = []\n"}, (), "workspace: expected a table"),
    ({"pixi.toml": "[dependencies]\npytorch = 2\n"}, (), "dependencies.pytorch: expected a version spec or a table"),
    ({"pixi.toml": '[dependencies]\npytorch = {url = "https://x/p.conda"}\n'}, (), "dependencies.pytorch: url not supported"),
    ({"pixi.toml": '[dependencies]\npytorch = {version = 2}\n'}, (), "dependencies.pytorch.version: expected text"),
    ({"pixi.toml": '[dependencies]\npytorch = "2.1 cuda* extra"\n'}, (), "is not a version spec"),
    ({"pixi.toml": '[pypi-dependencies]\ntimm = {git = "https://g.example/timm"}\n'}, (), "pypi-dependencies.timm: git not supported"),
    ({"pixi.toml": '[pypi-dependencies]\ntimm = {path = "."}\n'}, (), "pypi-dependencies.timm: path not supported"),
    ({"pixi.toml": '[pypi-dependencies]\ntimm = "~~1"\n'}, (), "not a PyPI requirement"),
    ({"pixi.toml": '[target.linux-64.dependencies]\npytorch-cuda = "*"\n'}, (), "target.linux-64: platform-specific dependencies"),
    ({"pixi.toml": '[feature.gpu.target.win-64.pypi-dependencies]\ntorch = "*"\n[environments]\ngpu = ["gpu"]\n'}, ("gpu",), "feature.gpu.target.win-64"),
    ({"pixi.toml": '[feature.a.dependencies]\nx = "*"\n[environments]\nb = ["a"]\n'}, ("c",), "no environment or feature 'c'"),
    ({"pixi.toml": '[environments]\nb = ["missing"]\n'}, ("b",), "unknown feature 'missing'"),
    ({"pixi.toml": "[environments]\nb = 3\n"}, ("b",), "environments.b: expected a list of features"),
    ({"pixi.toml": '[environments]\nb = {features = [], no-default-feature = "yes"}\n'}, ("b",), "no-default-feature: expected true/false"),
    ({"pixi.toml": '[pypi-options]\nfind-links = ["x"]\n'}, (), "pypi-options.find-links[0]"),
], ids=lambda v: v if isinstance(v, str) else None)
def test_bad_inputs_are_bad_input_with_a_hint(tmp_path: Path, files: dict[str, str | bytes], group: tuple[str, ...],
                                              expected: str) -> None:
    path = _write(tmp_path, files)
    with pytest.raises(BadInput) as err:
        read_inputs(path, group)
    assert expected in err.value.message
    assert err.value.hint


def test_unknown_group_lists_the_known_ones(tmp_path: Path) -> None:
    path = _write(tmp_path, {"pyproject.toml": PEP735})
    with pytest.raises(BadInput) as err:
        read_inputs(path, ("docs",))
    assert err.value.hint == "known groups: all, cuda, lint, test"
    with pytest.raises(BadInput) as err:
        read_inputs(DATA / "pixi-conda-forge-envs/pixi.toml", ("rocm",))
    assert err.value.hint == "known: cpu, default, gpu"


@pytest.mark.parametrize("name", ["requirements.txt", "pyproject.toml", "pixi.toml"])
def test_huge_files_are_bad_input(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr("envgen.fileio.MAX_BYTES", 1000)
    path = _write(tmp_path, {name: "# filler\n" * 200})
    with pytest.raises(BadInput, match="larger than"):
        read_inputs(path)


@pytest.mark.parametrize("name,text,kind", [
    ("env.txt", "name: paper\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.9\n", "environment"),
    ("environment", "dependencies:\n  - python=3.9\n", "environment"),
    ("conda_env.lock", "channels: [pytorch]\ndependencies: [pytorch=1.8.1]\n", "environment"),
    ("requirements.txt", "numpy\n# dependencies: not a key in a comment\n", "requirements"),
])
def test_kind_is_sniffed_when_the_name_does_not_say(tmp_path: Path, name: str, text: str, kind: str) -> None:
    """`conda env export > env.txt` is an environment file whatever its name; a requirements file stays one."""
    path = tmp_path / name
    path.write_text(text)
    assert kind_of(path) == kind


def test_unknown_file_without_environment_keys_names_the_formats(tmp_path: Path) -> None:
    path = tmp_path / "setup.py"
    path.write_text("from setuptools import setup\nsetup()\n")
    with pytest.raises(BadInput, match="not a file --from reads") as exc:
        kind_of(path)
    assert "pyproject.toml" in (exc.value.hint or "")
