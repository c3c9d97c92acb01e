"""Build real conda channels for the tests: real package files indexed into real repodata.json.

Packages are written by hand, byte-for-byte deterministic (sorted tar members, mtime 0, fixed zip dates):
`.tar.bz2` (tar of `info/` + payload) and `.conda` (a zip of `metadata.json`, `info-*.tar.zst`,
`pkg-*.tar.zst`). Each carries `info/index.json`, `info/paths.json` and `info/files`; noarch python
packages carry `info/link.json`; text files with the conda prefix placeholder are marked for relocation.
`rattler.index.index_fs` turns each channel folder into `<subdir>/repodata.json`.

The dependency shapes follow the eras the matrix covers: the pytorch channel with `cudatoolkit >=10.2,<10.3`,
`blas * mkl`, `mkl >=2018`, `pytorch-mutex` and `cpuonly` (track_features), `pytorch-cuda` and the nvidia
channel for 2.5, conda-forge's `cuda-version` and `__cuda` dependencies.
"""

from __future__ import annotations

import asyncio
import bz2
import hashlib
import io
import json
import tarfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

PLACEHOLDER = "/opt/anaconda1anaconda2anaconda3"
SUBDIRS = ("linux-64", "win-64", "osx-arm64", "noarch")
TIMESTAMP = 1_600_000_000_000  # fixed, so repodata is byte-stable


@dataclass(frozen=True)
class Pkg:
    channel: str
    name: str
    version: str
    build: str
    subdirs: tuple[str, ...]
    depends: tuple[str, ...] = ()
    constrains: tuple[str, ...] = ()
    track_features: str = ""
    noarch: str | None = None  # "python" | "generic"
    fmt: str = "tar.bz2"
    files: dict[str, str] = field(default_factory=dict)  # path -> text; {prefix} becomes the placeholder
    timestamp: int = TIMESTAMP  # ms since the epoch, as conda records it

    @property
    def build_number(self) -> int:
        tail = self.build.rsplit("_", 1)[-1]
        return int(tail) if tail.isdigit() else 0

    def file_name(self) -> str:
        return f"{self.name}-{self.version}-{self.build}.{self.fmt}"


PY39 = "python >=3.9,<3.10.0a0"
SP = "lib/python3.9/site-packages"


def _python(channel: str, version: str, build: str, fmt: str = "tar.bz2") -> list[Pkg]:
    short = ".".join(version.split(".")[:2])
    script = ("#!/bin/sh\n"
              f"PYTHONPATH=\"{{prefix}}/lib/python{short}/site-packages\"\nexport PYTHONPATH\n"
              "exec \"${ENVGEN_TEST_HOST_PYTHON:-python3}\" -s \"$@\"\n")
    deps = {"linux-64": ("libgcc-ng >=9.3.0", "zlib >=1.2.13,<1.3.0a0"), "win-64": ("vc >=14.1,<15.0a0",),
            "osx-arm64": ()}
    out = []
    for sub, dep in deps.items():
        if channel == "conda-forge":
            dep = dep + (f"python_abi {short}.* *_cp{short.replace('.', '')}",)
        files = ({"python.exe": "MZ", "Lib/site-packages/README.txt": "site\n"} if sub == "win-64"
                 else {"bin/python": script, f"lib/python{short}/site-packages/README.txt": "site\n"})
        out.append(Pkg(channel, "python", version, build, (sub,), dep, fmt=fmt, files=files))
    return out


def _torch_files(version: str, variant: str, sub: str) -> dict[str, str]:
    root = "Lib/site-packages" if sub == "win-64" else SP
    text = f'__version__ = "{version}"\nvariant = "{variant}"\n'
    return {f"{root}/torch/__init__.py": text}


def _main() -> list[Pkg]:
    m = "pkgs-main"
    lw = ("linux-64", "win-64")
    return [
        *_python(m, "3.9.7", "h12debd9_1"),
        Pkg(m, "python", "3.10.14", "h955ad1f_1", ("linux-64",), ("libgcc-ng >=9.3.0",),
            files={"bin/python3.10": "x\n"}),
        Pkg(m, "libgcc-ng", "9.3.0", "h5101ec6_17", ("linux-64",), ("__glibc >=2.17",),
            files={"lib/libgcc_s.so.1": "elf\n"}),
        Pkg(m, "zlib", "1.2.13", "h5eee18b_0", ("linux-64",), ("libgcc-ng >=9.3.0",),
            files={"lib/libz.so.1": "elf\n"}),
        Pkg(m, "vc", "14.2", "h21ff451_1", ("win-64",), ("vs2015_runtime >=14.27.29016",),
            track_features="vc14", files={"Library/vc.txt": "vc\n"}),
        Pkg(m, "vs2015_runtime", "14.27.29016", "h5e58377_2", ("win-64",), files={"vcruntime140.dll": "dll\n"}),
        Pkg(m, "intel-openmp", "2021.4.0", "h06a4308_3561", lw, files={"lib/libiomp5.so": "elf\n"}),
        Pkg(m, "intel-openmp", "2024.1.0", "h06a4308_0", lw, files={"lib/libiomp5.so": "elf\n"}),
        Pkg(m, "mkl", "2021.4.0", "h06a4308_640", lw, ("intel-openmp 2021.*",), files={"lib/libmkl_rt.so": "e\n"}),
        Pkg(m, "mkl", "2024.1.0", "h06a4308_691", lw, ("intel-openmp 2024.*",), files={"lib/libmkl_rt.so": "e\n"}),
        Pkg(m, "mkl-service", "2.4.0", "py39h7f8727e_0", lw, (PY39, "mkl >=2021.4.0,<2022.0a0"),
            files={f"{SP}/mkl/__init__.py": "\n"}),
        Pkg(m, "mkl_fft", "1.3.1", "py39hd3c417c_0", lw, (PY39, "mkl >=2021.4.0,<2022.0a0", "mkl-service >=2.3.0,<3.0a0",
                                                          "numpy >=1.16,<2"), files={f"{SP}/mkl_fft/__init__.py": "\n"}),
        Pkg(m, "blas", "1.0", "mkl", lw, files={"etc/blas.txt": "mkl\n"}),
        Pkg(m, "blas", "1.0", "openblas", lw, track_features="nomkl", files={"etc/blas.txt": "ob\n"}),
        Pkg(m, "numpy", "1.21.2", "py39h20f2e39_0", lw, (PY39, "blas 1.0 mkl", "mkl >=2021.3.0,<2022.0a0"),
            files={f"{SP}/numpy/__init__.py": '__version__ = "1.21.2"\n'}),
        Pkg(m, "numpy", "1.26.4", "py39h5f9d8c6_0", ("linux-64", "win-64", "osx-arm64"), (PY39,),
            files={f"{SP}/numpy/__init__.py": '__version__ = "1.26.4"\n'}),
        Pkg(m, "numpy", "2.0.1", "py39heeff2f4_1", ("linux-64",), (PY39,),
            files={f"{SP}/numpy/__init__.py": '__version__ = "2.0.1"\n'}),
        Pkg(m, "cudatoolkit", "10.2.89", "hfd86e86_1", lw, ("__cuda >=10.2",),
            files={"lib/libcudart.so.10.2": "elf\n"}),
        Pkg(m, "cudatoolkit", "11.1.74", "h6bb024c_0", lw, ("__cuda >=11.1",),
            files={"lib/libcudart.so.11.0": "elf\n"}),
        Pkg(m, "typing_extensions", "4.11.0", "py_0", ("noarch",), ("python >=3.8",), noarch="python",
            files={"site-packages/typing_extensions.py": "VERSION = '4.11.0'\n"}),
        Pkg(m, "llvm-openmp", "14.0.6", "hc6e5704_0", ("linux-64", "win-64", "osx-arm64"), files={"lib/libomp": "lib\n"}),
    ]


def _pytorch() -> list[Pkg]:
    p = "pytorch"
    cu102 = ("cudatoolkit >=10.2,<10.3",)
    old = ("blas * mkl", "mkl >=2018", "numpy >=1.19", PY39, "typing_extensions")
    new = ("blas * mkl", "mkl >=2018,<2025.0a0", PY39, "typing_extensions", "llvm-openmp <16")
    out = [
        Pkg(p, "pytorch-mutex", "1.0", "cuda", ("noarch",), noarch="generic", files={"info/mutex": "cuda\n"}),
        Pkg(p, "pytorch-mutex", "1.0", "cpu", ("noarch",), track_features="pytorch-mutex", noarch="generic",
            files={"info/mutex": "cpu\n"}),
        Pkg(p, "cpuonly", "2.0", "0", ("noarch",), ("pytorch-mutex 1.0 cpu",), noarch="generic",
            files={"info/cpuonly": "1\n"}),
    ]
    for sub in ("linux-64", "win-64"):
        cudnn = "cudnn7.6.5" if sub == "linux-64" else "cudnn7"
        out += [
            Pkg(p, "pytorch", "1.8.1", f"py3.9_cuda10.2_{cudnn}_0", (sub,), old + cu102 + ("pytorch-mutex 1.0 cuda",),
                files=_torch_files("1.8.1", "cu102", sub)),
            Pkg(p, "pytorch", "1.8.1", "py3.9_cpu_0", (sub,), old + ("pytorch-mutex 1.0 cpu",),
                files=_torch_files("1.8.1", "cpu", sub)),
            Pkg(p, "torchvision", "0.9.1", "py39_cu102", (sub,),
                ("pytorch 1.8.1", "numpy >=1.11", PY39, "pytorch-mutex 1.0 cuda") + cu102,
                files={f"{SP}/torchvision/__init__.py": '__version__ = "0.9.1"\n'}),
            Pkg(p, "pytorch", "2.5.1", f"py3.9_cuda12.1_{'cudnn9.1.0' if sub == 'linux-64' else 'cudnn9'}_0", (sub,),
                new + ("pytorch-cuda >=12.1,<12.2", "pytorch-mutex 1.0 cuda"), files=_torch_files("2.5.1", "cu121", sub)),
            Pkg(p, "pytorch-cuda", "12.1", "ha16c6d3_5" if sub == "linux-64" else "hde6ce7c_5", (sub,),
                ("cuda-cudart >=12.1,<12.2", "libcublas >=12.1.0.26,<12.1.3.1"), files={"etc/pytorch-cuda": "12.1\n"}),
        ]
    out += [
        Pkg(p, "pytorch", "1.8.1", "py3.9_cuda11.1_cudnn8.0.5_0", ("linux-64",),
            old + ("cudatoolkit >=11.1,<11.2", "pytorch-mutex 1.0 cuda"), files=_torch_files("1.8.1", "cu111", "l")),
        Pkg(p, "torchvision", "0.9.1", "py39_cpu", ("linux-64",), ("pytorch 1.8.1", "numpy >=1.11", PY39,
                                                                    "pytorch-mutex 1.0 cpu")),
        Pkg(p, "torchaudio", "0.8.1", "py39", ("linux-64", "win-64"), ("pytorch 1.8.1", PY39),
            files={f"{SP}/torchaudio/__init__.py": '__version__ = "0.8.1"\n'}),
        Pkg(p, "pytorch", "2.5.1", "py3.9_cpu_0", ("linux-64",), new + ("pytorch-mutex 1.0 cpu",),
            files=_torch_files("2.5.1", "cpu", "linux-64")),
        Pkg(p, "pytorch", "2.5.1", "py3.9_0", ("osx-arm64",), (PY39, "llvm-openmp >=14.0.6", "typing_extensions"),
            files=_torch_files("2.5.1", "cpu", "osx-arm64")),
        Pkg(p, "torchvision", "0.20.1", "py39_cu121", ("linux-64",),
            ("pytorch 2.5.1", "pytorch-cuda 12.1.*", "numpy >=1.11", PY39, "pytorch-mutex 1.0 cuda")),
        Pkg(p, "torchaudio", "2.5.1", "py39_cu121", ("linux-64",),
            ("pytorch 2.5.1", "pytorch-cuda 12.1.*", PY39, "pytorch-mutex 1.0 cuda")),
    ]
    return out


def _nvidia() -> list[Pkg]:
    n = "nvidia"
    return [Pkg(n, "cuda-cudart", "12.1.105", "0", ("linux-64", "win-64"), files={"lib/libcudart.so.12": "e\n"}),
            Pkg(n, "libcublas", "12.1.0.26", "0", ("linux-64", "win-64"), files={"lib/libcublas.so.12": "e\n"})]


def _conda_forge() -> list[Pkg]:
    f = "conda-forge"
    abi = "python_abi 3.9.* *_cp39"
    return [
        *[p for p in _python(f, "3.9.19", "h0755675_0_cpython", "conda") if p.subdirs == ("linux-64",)],
        Pkg(f, "python_abi", "3.9", "5_cp39", ("linux-64",), constrains=("python 3.9.* *_cpython",), fmt="conda"),
        Pkg(f, "libgcc-ng", "14.1.0", "h77fa898_0", ("linux-64",), ("__glibc >=2.17",), fmt="conda",
            files={"lib/libgcc_s.so.1": "elf\n"}),
        Pkg(f, "zlib", "1.2.13", "h4ab18f5_6", ("linux-64",), ("libgcc-ng >=12",), fmt="conda"),
        Pkg(f, "libblas", "3.9.0", "20_linux64_openblas", ("linux-64",), fmt="conda"),
        Pkg(f, "numpy", "1.26.4", "py39h474f0d3_0", ("linux-64",), ("libblas >=3.9.0,<4.0a0", PY39, abi),
            fmt="conda", files={f"{SP}/numpy/__init__.py": '__version__ = "1.26.4"\n'}),
        Pkg(f, "typing_extensions", "4.12.2", "pyha770c72_0", ("noarch",), ("python >=3.8",), noarch="python",
            fmt="conda", files={"site-packages/typing_extensions.py": "VERSION = '4.12.2'\n"}),
        Pkg(f, "cuda-version", "12.4", "h3060b56_3", ("noarch",), constrains=("__cuda >=12", "cudatoolkit 12.4|12.4.*"),
            noarch="generic", fmt="conda"),
        Pkg(f, "cuda-version", "11.8", "h70ddcb2_3", ("noarch",), constrains=("__cuda >=11", "cudatoolkit 11.8|11.8.*"),
            noarch="generic", fmt="conda"),
        Pkg(f, "cuda-cudart", "12.4.127", "he02047a_2", ("linux-64",), ("__glibc >=2.17", "cuda-version >=12.4,<12.5.0a0"),
            fmt="conda", files={"lib/libcudart.so.12": "elf\n"}),
        Pkg(f, "pytorch", "2.5.1", "cuda124_py39h8b0a0f5_300", ("linux-64",),
            ("__cuda", "cuda-version >=12.4,<13", "cuda-cudart >=12.4.127,<13.0a0", "libblas >=3.9.0,<4.0a0",
             PY39, abi, "numpy >=1.19,<3", "typing_extensions"), fmt="conda",
            files=_torch_files("2.5.1", "cu124", "linux-64")),
        Pkg(f, "pytorch", "2.5.1", "cpu_generic_py39h1f23f6c_0", ("linux-64",),
            ("libblas >=3.9.0,<4.0a0", PY39, abi, "numpy >=1.19,<3", "typing_extensions"), fmt="conda",
            files=_torch_files("2.5.1", "cpu", "linux-64")),
        Pkg(f, "torchvision", "0.20.0", "cpu_py39h0a1b2c3_1", ("linux-64",),
            ("pytorch >=2.5,<2.6", "numpy >=1.19,<3", PY39, abi), fmt="conda",
            files={f"{SP}/torchvision/__init__.py": '__version__ = "0.20.0"\n'}),
        # two releases a year apart, for --exclude-newer (2023-04-25 and 2024-05-21, as conda-forge built them)
        Pkg(f, "einops", "0.6.1", "pyhd8ed1ab_0", ("noarch",), ("python >=3.8",), noarch="python", fmt="conda",
            timestamp=1_682_380_800_000),
        Pkg(f, "einops", "0.8.0", "pyhd8ed1ab_0", ("noarch",), ("python >=3.8",), noarch="python", fmt="conda",
            timestamp=1_716_249_600_000),
        Pkg(f, "pyyaml", "6.0.2", "py39h8cd3c5a_1", ("linux-64",), (PY39, abi), fmt="conda",
            files={f"{SP}/yaml/__init__.py": '__version__ = "6.0.2"\n'}),
    ]


def all_packages() -> list[Pkg]:
    return _main() + _pytorch() + _nvidia() + _conda_forge()


# -- writing package files --------------------------------------------------------------------------------

def _tar_bytes(members: dict[str, bytes], compress: str) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(members):
            info = tarfile.TarInfo(name)
            info.size = len(members[name])
            info.mtime = 0
            info.mode = 0o755 if name.startswith("bin/") else 0o644
            tar.addfile(info, io.BytesIO(members[name]))
    data = raw.getvalue()
    if compress == "bz2":
        return bz2.compress(data, 9)
    import zstandard

    return zstandard.ZstdCompressor(level=3).compress(data)


def _payload(pkg: Pkg) -> dict[str, bytes]:
    return {path: text.replace("{prefix}", PLACEHOLDER).encode() for path, text in pkg.files.items()
            if not path.startswith("info/")}


def _info(pkg: Pkg, sub: str, payload: dict[str, bytes]) -> dict[str, bytes]:
    index = {"name": pkg.name, "version": pkg.version, "build": pkg.build, "build_number": pkg.build_number,
             "depends": list(pkg.depends), "constrains": list(pkg.constrains), "subdir": sub,
             "timestamp": pkg.timestamp, "license": "BSD-3-Clause"}
    if pkg.track_features:
        index["track_features"] = pkg.track_features
    if pkg.noarch:
        index["noarch"] = pkg.noarch
    if sub != "noarch":
        index["platform"], index["arch"] = {"linux-64": ("linux", "x86_64"), "win-64": ("win", "x86_64"),
                                            "osx-arm64": ("osx", "arm64")}[sub]
    paths = []
    for path in sorted(payload):
        entry = {"_path": path, "path_type": "hardlink", "sha256": hashlib.sha256(payload[path]).hexdigest(),
                 "size_in_bytes": len(payload[path])}
        if PLACEHOLDER.encode() in payload[path]:
            entry.update(prefix_placeholder=PLACEHOLDER, file_mode="text")
        paths.append(entry)
    info = {"info/index.json": json.dumps(index, indent=2, sort_keys=True).encode(),
            "info/paths.json": json.dumps({"paths": paths, "paths_version": 1}, indent=2).encode(),
            "info/files": "".join(p + "\n" for p in sorted(payload)).encode()}
    if any(PLACEHOLDER.encode() in data for data in payload.values()):
        info["info/has_prefix"] = "".join(f"{PLACEHOLDER} text {p}\n" for p in sorted(payload)
                                          if PLACEHOLDER.encode() in payload[p]).encode()
    if pkg.noarch == "python":
        info["info/link.json"] = json.dumps({"noarch": {"type": "python"}, "package_metadata_version": 1}).encode()
    for path, text in pkg.files.items():
        if path.startswith("info/"):
            info[path] = text.encode()
    return info


def write_package(pkg: Pkg, sub: str, folder: Path) -> Path:
    payload = _payload(pkg)
    info = _info(pkg, sub, payload)
    target = folder / pkg.file_name()
    if pkg.fmt == "tar.bz2":
        target.write_bytes(_tar_bytes({**info, **payload}, "bz2"))
        return target
    stem = target.name[: -len(".conda")]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        for name, data in (("metadata.json", json.dumps({"conda_pkg_format_version": 2}).encode()),
                           (f"info-{stem}.tar.zst", _tar_bytes(info, "zst")),
                           (f"pkg-{stem}.tar.zst", _tar_bytes(payload, "zst"))):
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data)
    target.write_bytes(buf.getvalue())
    return target


def build_channels(root: Path, packages: list[Pkg] | None = None) -> Path:
    """Write every package under root/<channel>/<subdir>/ and index each channel. Returns root."""
    from rattler.index import index_fs

    packages = all_packages() if packages is None else packages
    channels = sorted({p.channel for p in packages})
    for ch in channels:
        for sub in SUBDIRS:
            (root / ch / sub).mkdir(parents=True, exist_ok=True)
    for pkg in packages:
        for sub in pkg.subdirs:
            write_package(pkg, sub, root / pkg.channel / sub)
    async def _index() -> None:
        for ch in channels:
            await index_fs(root / ch, write_zst=False, write_shards=False)

    asyncio.run(_index())
    for path in root.glob("*/*/repodata.json"):  # drop the indexing time, so repodata is byte-stable
        data = json.loads(path.read_text())
        for key in ("packages", "packages.conda"):
            for rec in data.get(key, {}).values():
                rec.pop("indexed_timestamp", None)
        path.write_text(json.dumps(data, indent=1, sort_keys=True))
    return root


def record_count(root: Path) -> int:
    total = 0
    for path in root.glob("*/*/repodata.json"):
        data = json.loads(path.read_text())
        total += len(data.get("packages", {})) + len(data.get("packages.conda", {}))
    return total
