"""Build real tiny wheels and the indexes pip and uv read: PEP 503 simple indexes and a find-links page.

Layout under the root (served by tests/support/server.py; map the real hosts onto it with --mirror):
- `pypi/simple/<project>/` : the default index (PyPI's shape), wheels under `pypi/files/`
- `whl/torch_stable.html`  : the find-links page of the 1.x era, wheels under `whl/<tag>/`
- `whl/<tag>/<project>/`   : the per-variant indexes of the 2.x era (cu121, cpu)
Wheels are deterministic zips (fixed dates, sorted members) with METADATA, WHEEL and RECORD.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

LINUX = "manylinux_2_17_x86_64.manylinux2014_x86_64"
CUDA_MARK = 'platform_system == "Linux" and platform_machine == "x86_64"'


@dataclass(frozen=True)
class Wheel:
    name: str  # distribution name as published (torch, typing_extensions)
    version: str
    tag: str  # py3-none-any, cp39-cp39-linux_x86_64
    requires: tuple[str, ...] = ()
    where: tuple[str, ...] = ("pypi",)  # pypi | stable (find-links, under whl/<local>/) | cu121 | cpu
    uploaded: str = "2024-01-01T00:00:00Z"  # PEP 700 upload-time in the JSON simple pages (uv's --exclude-newer)

    @property
    def filename(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-{self.tag}.whl"

    @property
    def project(self) -> str:
        return self.name.lower().replace("_", "-")


def all_wheels() -> list[Wheel]:
    te = Wheel("typing_extensions", "4.11.0", "py3-none-any", where=("pypi", "cu121", "cpu"))
    out = [te]
    for ver, tags in (("1.21.2", (LINUX, "win_amd64")), ("1.26.4", (LINUX, "win_amd64", "macosx_11_0_arm64")),
                      ("2.0.1", (LINUX,))):
        out += [Wheel("numpy", ver, f"cp39-cp39-{t}", where=("pypi", "cu121", "cpu")) for t in tags]
    old = ("numpy", "typing-extensions")
    for local in ("cu102", "cpu"):
        for plat in ("linux_x86_64", "win_amd64"):
            out += [Wheel("torch", f"1.8.1+{local}", f"cp39-cp39-{plat}", old, ("stable",)),
                    Wheel("torchvision", f"0.9.1+{local}", f"cp39-cp39-{plat}", ("numpy", "torch==1.8.1"),
                          ("stable",))]
    out += [Wheel("torchaudio", "0.8.1", f"cp39-cp39-{p}", ("torch==1.8.1",), ("stable", "pypi"))
            for p in ("linux_x86_64", "win_amd64")]
    out += [Wheel("torch", "1.8.1", "cp39-cp39-manylinux1_x86_64", old),
            Wheel("torch", "1.8.1", "cp39-none-macosx_10_9_x86_64", old),
            Wheel("torchvision", "0.9.1", "cp39-cp39-manylinux1_x86_64", ("numpy", "torch==1.8.1"))]
    rt = "nvidia-cuda-runtime-cu12"
    new = ("typing-extensions>=4.8.0", "filelock; python_version >= '3.14'")
    out += [Wheel("torch", "2.5.1+cu121", "cp39-cp39-linux_x86_64", new + (f"{rt}==12.1.105; {CUDA_MARK}",),
                  ("cu121",)),
            Wheel("torch", "2.5.1+cpu", "cp39-cp39-linux_x86_64", new, ("cpu",)),
            Wheel("torch", "2.5.1", "cp39-cp39-win_amd64", new, ("cpu", "cu121")),
            Wheel("torch", "2.5.1", "cp39-cp39-manylinux1_x86_64", new + (f"{rt}==12.4.127; {CUDA_MARK}",)),
            Wheel("torch", "2.5.1", "cp39-none-macosx_11_0_arm64", new),
            Wheel("torchvision", "0.20.1+cu121", "cp39-cp39-linux_x86_64", ("numpy", "torch==2.5.1"), ("cu121",)),
            Wheel(rt.replace("-", "_"), "12.1.105", "py3-none-manylinux1_x86_64", where=("cu121",)),
            Wheel(rt.replace("-", "_"), "12.4.127", "py3-none-manylinux2014_x86_64", where=("pypi",))]
    # research packages that depend on torch (the shapes of timm, torchmetrics, einops), and a PyPI torchvision
    # whose metadata pins a torch other than the one a conda channel pairs it with (as torchvision 0.16.1 pins
    # torch 2.1.1 on PyPI while conda-forge builds it against 2.1.2)
    out += [Wheel("torchvision", "0.20.0", "cp39-cp39-manylinux1_x86_64", ("numpy", "torch==2.5.0")),
            Wheel("timm", "0.9.12", "py3-none-any", ("torch>=1.7", "torchvision", "pyyaml")),
            Wheel("torchmetrics", "1.2.0", "py3-none-any", ("numpy>1.20.0", "torch>=1.8.1", "lightning-utilities>=0.8.0")),
            Wheel("lightning_utilities", "0.11.2", "py3-none-any", ("packaging>=17.1", "typing_extensions")),
            Wheel("packaging", "24.1", "py3-none-any"), Wheel("PyYAML", "6.0.1", "cp39-cp39-manylinux1_x86_64"),
            Wheel("einops", "0.7.0", "py3-none-any", uploaded="2023-10-01T12:00:00Z"),
            Wheel("einops", "0.8.0", "py3-none-any", uploaded="2024-05-20T12:00:00Z")]
    return out


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name in sorted(members):
            zf.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), members[name])
    return buf.getvalue()


def wheel_bytes(w: Wheel) -> bytes:
    module = w.name.replace("-", "_")
    dist = f"{module}-{w.version}.dist-info"
    meta = ["Metadata-Version: 2.1", f"Name: {w.name}", f"Version: {w.version}"]
    meta += [f"Requires-Dist: {r}" for r in w.requires]
    members = {
        f"{module}/__init__.py": f'__version__ = "{w.version}"\n'.encode(),
        f"{dist}/METADATA": ("\n".join(meta) + "\n").encode(),
        f"{dist}/WHEEL": f"Wheel-Version: 1.0\nGenerator: envgen-tests\nRoot-Is-Purelib: false\nTag: {w.tag}\n"
                         .encode(),
    }
    record = []
    for name, data in sorted(members.items()):
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(data)}")
    record.append(f"{dist}/RECORD,,")
    members[f"{dist}/RECORD"] = ("\n".join(record) + "\n").encode()
    return _zip(members)


def _page(links: list[tuple[str, str]]) -> str:
    body = "".join(f'<a href="{href}">{text}</a><br/>\n' for href, text in links)
    return f"<!DOCTYPE html>\n<html><body>\n{body}</body></html>\n"


def build_index(root: Path, wheels: list[Wheel] | None = None) -> Path:
    """Write the wheels and the pages under root. Returns root."""
    wheels = all_wheels() if wheels is None else wheels
    files: dict[str, list[tuple[Wheel, str]]] = {}  # index dir -> (wheel, path relative to root)
    stable: list[tuple[str, str]] = []
    for w in wheels:
        data = wheel_bytes(w)
        sha = hashlib.sha256(data).hexdigest()
        for where in w.where:
            if where == "stable":
                local = w.version.split("+", 1)[1] if "+" in w.version else "cpu"
                rel = f"whl/{local}/{w.filename}"
                stable.append((f"{local}/{w.filename.replace('+', '%2B')}#sha256={sha}", f"{local}/{w.filename}"))
            elif where == "pypi":
                rel = f"pypi/files/{w.filename}"
                files.setdefault("pypi/simple", []).append((w, rel))
            else:
                rel = f"whl/{where}/files/{w.filename}"
                files.setdefault(f"whl/{where}", []).append((w, rel))
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
    (root / "whl" / "torch_stable.html").write_text(_page(sorted(stable)))
    for index, entries in files.items():
        projects = sorted({w.project for w, _ in entries})
        (root / index).mkdir(parents=True, exist_ok=True)
        (root / index / "index.html").write_text(_page([(f"{p}/", p) for p in projects]))
        for project in projects:
            depth = "../" * (index.count("/") + 2)
            links = sorted((f"{depth}{rel.replace('+', '%2B')}#sha256={hashlib.sha256((root / rel).read_bytes()).hexdigest()}",
                            w.filename) for w, rel in entries if w.project == project)
            (root / index / project).mkdir(parents=True, exist_ok=True)
            (root / index / project / "index.html").write_text(_page(links))
            mine = [(w, rel) for w, rel in entries if w.project == project]
            (root / index / project / "index.v1.json").write_text(json.dumps({  # PEP 691 + PEP 700
                "meta": {"api-version": "1.1"}, "name": project, "versions": sorted({w.version for w, _ in mine}),
                "files": [{"filename": w.filename, "url": f"{depth}{rel.replace('+', '%2B')}",
                           "hashes": {"sha256": hashlib.sha256((root / rel).read_bytes()).hexdigest()},
                           "size": (root / rel).stat().st_size, "upload-time": w.uploaded}
                          for w, rel in sorted(mine, key=lambda x: x[0].filename)]}, indent=1))
    return root
