"""`envgen build-env --check`: run the checklist of a BuildPlan on this machine.

Each `CheckItem` with a command is run (`nvcc --version`, `gcc --version`, `cmake --version`, `cl`) with a
timeout; its version is parsed and compared with the item's range. cuDNN is read from its header, NVTX is a
file. Findings have the shape of `envgen doctor`: cause, severity, message, evidence, fix.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from packaging.version import InvalidVersion, Version

from envgen.build.plan import BuildPlan, CheckItem, spec_text
from envgen.models import os_of

TIMEOUT_S = 20
_PATTERNS = {
    "nvcc": re.compile(r"release (\d+\.\d+)"),
    "gcc": re.compile(r"(\d+\.\d+(?:\.\d+)?)(?!.*\d+\.\d+)"),
    "cmake": re.compile(r"cmake version (\d+\.\d+(?:\.\d+)?)"),
    "cl": re.compile(r"Version (\d+\.\d+)(?:\.\d+)*"),
}
_TOOL_OF = {"cuda": "nvcc", "gcc": "gcc", "cmake": "cmake", "msvc": "cl"}


@dataclass(frozen=True, slots=True)
class Finding:
    cause: str
    severity: str  # error | warning
    message: str
    evidence: str
    fix: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"cause": self.cause, "severity": self.severity, "message": self.message,
                "evidence": self.evidence, "fix": list(self.fix)}


@dataclass(frozen=True, slots=True)
class Checked:
    id: str
    found: str | None  # the version seen, or None
    ok: bool


def run_checks(p: BuildPlan, env: dict[str, str] | None = None) -> tuple[list[Finding], list[Checked]]:
    """Check every item of the plan's checklist; `env` defaults to os.environ (PATH decides what runs)."""
    env = dict(os.environ if env is None else env)
    findings: list[Finding] = []
    checked: list[Checked] = []
    for item in p.checklist:
        if item.id in _TOOL_OF:
            result = _check_tool(item, _TOOL_OF[item.id], env)
        elif item.id == "cudnn":
            result = _check_cudnn(item, p, env)
        elif item.id == "nvtx" and os_of(p.platform) == "windows":
            result = _check_nvtx(item, p, env)
        else:
            continue
        finding, seen = result
        checked.append(Checked(item.id, seen, finding is None or finding.severity != "error"))
        if finding:
            findings.append(finding)
    return findings, checked


def version_of(tool: str, output: str) -> Version | None:
    """The version a tool printed (`nvcc --version`, `gcc --version` first line, `cmake --version`, `cl`)."""
    text = output if tool != "gcc" else (output.strip().splitlines() or [""])[0]
    m = _PATTERNS[tool].search(text)
    if not m:
        return None
    try:
        return Version(m.group(1))
    except InvalidVersion:
        return None


def _run(argv: tuple[str, ...], env: dict[str, str]) -> tuple[str | None, str]:
    exe = shutil.which(argv[0], path=env.get("PATH", ""))
    if exe is None:
        return None, f"{argv[0]} not found on PATH"
    try:
        proc = subprocess.run([exe, *argv[1:]], capture_output=True, text=True, timeout=TIMEOUT_S, env=env,
                              errors="replace", check=False)
    except subprocess.TimeoutExpired:
        return None, f"{' '.join(argv)} did not finish in {TIMEOUT_S} s"
    except OSError as exc:
        return None, f"{' '.join(argv)} could not run: {exc.strerror or exc}"
    return proc.stdout + proc.stderr, ""


def _check_tool(item: CheckItem, tool: str, env: dict[str, str]) -> tuple[Finding | None, str | None]:
    output, problem = _run(item.argv, env)
    if output is None:
        return Finding(f"{item.id}-missing", "error", f"{item.what} not found: {problem}", problem,
                       (f"install {item.required}", item.how)), None
    version = version_of(tool, output)
    lines = [ln.strip() for ln in output.splitlines() if ln.strip()]
    first = next((ln for ln in lines if _PATTERNS[tool].search(ln)), lines[0] if lines else "")
    if version is None:
        return Finding(f"{item.id}-unreadable", "warning", f"cannot read the version of {item.what} from "
                       f"`{' '.join(item.argv)}`", first, (item.how,)), None
    if item.spec is not None and version not in item.spec:
        return Finding(f"{item.id}-out-of-range", "error",
                       f"{item.what} {version} is outside what this build needs ({spec_text(item.spec)})",
                       first, (f"install {item.required}", item.how)), str(version)
    if item.id == "msvc" and ", not " in item.required:
        return Finding("msvc-update-unknown", "warning", f"cl {version} is accepted; check the Visual Studio "
                       "update too (cl does not show it)", first, (item.required,)), str(version)
    return None, str(version)


_CUDNN = re.compile(r"#define\s+CUDNN_(MAJOR|MINOR|PATCHLEVEL)\s+(\d+)")


def cudnn_version(text: str) -> Version | None:
    parts = dict(_CUDNN.findall(text))
    if "MAJOR" not in parts:
        return None
    return Version(f"{parts['MAJOR']}.{parts.get('MINOR', '0')}.{parts.get('PATCHLEVEL', '0')}")


def _cudnn_dirs(p: BuildPlan, env: dict[str, str]) -> list[Path]:
    home = env.get(p.layout.cuda_var) or p.request.cuda_home or p.layout.cuda_home.format(cuda=p.cuda)
    dirs = [env.get("CUDNN_INCLUDE_DIR"), os.path.join(home, "include"),
            os.path.join(env["CONDA_PREFIX"], "include") if env.get("CONDA_PREFIX") else None]
    if os_of(p.platform) == "linux":
        dirs += ["/usr/include", "/usr/include/x86_64-linux-gnu"]
    return [Path(d) for d in dirs if d]


def _check_cudnn(item: CheckItem, p: BuildPlan, env: dict[str, str]) -> tuple[Finding | None, str | None]:
    looked = _cudnn_dirs(p, env)
    for folder in looked:
        for name in ("cudnn_version.h", "cudnn.h"):
            path = folder / name
            if path.is_file():
                version = cudnn_version(path.read_text(errors="replace"))
                if version is None:
                    continue
                if item.spec is not None and version not in item.spec:
                    return Finding("cudnn-too-old", "error", f"cuDNN {version} is older than this build needs "
                                   f"({spec_text(item.spec)})", str(path), (f"install {item.required}",)), str(version)
                return None, str(version)
    return Finding("cudnn-missing", "error", "cuDNN headers not found", "looked in " + ", ".join(map(str, looked)),
                   (f"install {item.required}", "or set CUDNN_INCLUDE_DIR to the folder holding cudnn_version.h")), None


def _check_nvtx(item: CheckItem, p: BuildPlan, env: dict[str, str]) -> tuple[Finding | None, str | None]:
    base = env.get("NVTOOLSEXT_PATH")
    candidates = ([Path(base) / "lib" / "x64" / "nvToolsExt64_1.lib"] if base else []) + \
        ([Path(p.layout.nvtx)] if p.layout.nvtx else [])
    if any(c.is_file() for c in candidates):
        return None, "present"
    return Finding("nvtx-missing", "error", "NVTX (nvToolsExt64_1.lib) not found", ", ".join(map(str, candidates)),
                   (item.how,)), None


def report(p: BuildPlan, findings: list[Finding], checked: list[Checked]) -> dict[str, object]:
    """The JSON document of a check, shaped like `envgen doctor --json`."""
    return {"findings": [f.to_json() for f in findings],
            "checked": [{"id": c.id, "found": c.found, "ok": c.ok} for c in checked],
            "build": {"torch": p.label, "platform": p.platform, "accel": p.request.accel.tag},
            "ok": not any(f.severity == "error" for f in findings)}
