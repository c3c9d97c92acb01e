"""The verify step's program, run for real (as the here-document of bash/PowerShell and as cmd's `python -c` line)
against a stand-in torch package and a stand-in nvidia-smi on PATH."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from envgen.migrate.plan import VERIFY_CODE, VERIFY_LINES

FAKE_TORCH = """import os
__version__ = os.environ['FAKE_TORCH_VERSION']
class version:
    cuda = os.environ.get('FAKE_TORCH_CUDA') or None
class cuda:
    @staticmethod
    def is_available():
        return os.environ.get('FAKE_CUDA_AVAILABLE') == '1'
"""

# id, installed version, its CUDA build ('' = CPU), CUDA available, nvidia-smi answers, target (version, cuda),
# exit code, what stderr says
CASES = [
    ("cuda-ok", "2.5.1+cu124", "12.4", True, True, ("2.5.1", "12.4"), 0, ""),
    ("cuda-unavailable-with-gpu", "2.5.1+cu124", "12.4", False, True, ("2.5.1", "12.4"), 1,
     "CUDA is not available although this is a CUDA build and an NVIDIA GPU is present"),
    ("cuda-build-no-gpu", "2.5.1+cu124", "12.4", False, False, ("2.5.1", "12.4"), 0, ""),
    ("wrong-version", "2.4.0+cu124", "12.4", True, True, ("2.5.1", "12.4"), 1, "torch is 2.4.0, the target is 2.5.1"),
    ("wrong-build", "2.5.1+cpu", "", False, True, ("2.5.1", "12.4"), 1, "the CUDA build is None, the target is 12.4"),
    ("cpu-target", "2.5.1+cpu", "", False, True, ("2.5.1", "None"), 0, ""),
    ("any-build", "2.5.1+cu121", "12.1", True, False, ("2.5.1", "-"), 0, ""),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("verify")
    (root / "site" / "torch").mkdir(parents=True)
    (root / "site" / "torch" / "__init__.py").write_text(FAKE_TORCH)
    (root / "bin").mkdir()
    smi = root / "bin" / "nvidia-smi"
    smi.write_text("#!/bin/sh\necho 'GPU 0: NVIDIA GeForce RTX 3090 (UUID: GPU-0)'\n")
    smi.chmod(0o755)
    return root


@pytest.mark.skipif(sys.platform == "win32", reason="the stand-in nvidia-smi is a shell script")
@pytest.mark.parametrize("form", ["here-document", "python -c"])
@pytest.mark.parametrize("installed, cuda, available, gpu, target, code, says", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_verify_program(world, form, installed, cuda, available, gpu, target, code, says):
    env = {"PYTHONPATH": str(world / "site"), "FAKE_TORCH_VERSION": installed, "FAKE_TORCH_CUDA": cuda,
           "FAKE_CUDA_AVAILABLE": "1" if available else "0",
           "PATH": (f"{world / 'bin'}{os.pathsep}" if gpu else "") + os.path.dirname(sys.executable),
           "SYSTEMROOT": os.environ.get("SYSTEMROOT", "")}
    if form == "here-document":
        argv, stdin = [sys.executable, "-", *target], "\n".join(VERIFY_LINES) + "\n"
    else:
        argv, stdin = [sys.executable, "-c", VERIFY_CODE, *target], ""
    done = subprocess.run(argv, input=stdin, env=env, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == code, done.stderr
    assert done.stdout.startswith(f"torch {installed} | CUDA build {cuda or 'None'} | CUDA available {available} | "
                                  f"NVIDIA GPU {gpu}")
    assert (says in done.stderr) if says else done.stderr == ""
