"""The driver/GPU model end to end through the CLI: the five cases of issue 12, as a user meets them.

1. detect on a driver-470 RTX 3090 picks torch 2.7.1 cu118 (minor-version compatibility, said), never a silent CPU
   build; `--cuda auto` does the same; where nothing runs: exit 1 with the choices, or `--allow-cpu`.
2. without --torch, pip and conda follow one rule, and say why they differ.
3. doctor's fixes for 2.1.0+cu121 on driver 470 are ranked: 2.1.0 cu118 first, then the driver, then another torch.
4. ENVGEN_CUDA=470.82 is refused with a hint; ENVGEN_DRIVER / ENVGEN_GPU / `detect --from nvidia-smi.txt` describe
   another machine, and the header says which overrides are in force.
5. migrate states the target's driver floor against the machine's driver, refuses a target that cannot run (unless
   --force), verifies with a readable program, and can build beside the old env (--new-env / --new-venv).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from envgen.cli import main

HERE = Path(__file__).resolve().parent
COMPAT = HERE / "data" / "compat"
MIGRATE = HERE / "data" / "migrate"
OVERRIDES = ("ENVGEN_CUDA", "ENVGEN_DRIVER", "ENVGEN_GPU", "CONDA_OVERRIDE_CUDA")


@pytest.fixture(autouse=True)
def _machine(tmp_path_factory, monkeypatch):
    """One matrix cache for the module, and no override from the caller's environment."""
    from tests.test_scripts import _shared_cache

    monkeypatch.setenv("ENVGEN_CACHE_DIR", str(_shared_cache(tmp_path_factory)))
    monkeypatch.delenv("ENVGEN_MATRIX_DIR", raising=False)
    monkeypatch.setenv("NO_COLOR", "1")
    for var in OVERRIDES:
        monkeypatch.delenv(var, raising=False)


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


# --- 1. the newest build that runs, minor-version compatibility included; never a silent CPU build ---------
def test_case1_detect_driver_470_rtx3090(capsys, monkeypatch):
    monkeypatch.setenv("ENVGEN_CUDA", "11.4")
    monkeypatch.setenv("ENVGEN_GPU", "RTX 3090")
    code, out, _ = run(capsys, "detect", "--torch", "2.7.1", "--platform", "linux-64", "--json")
    data = json.loads(out)
    by = {v["installer"]: v for v in data["variants"]}
    assert code == 0
    assert (by["pip"]["variant"], by["pip"]["runs"]) == ("cu118", "minor")
    assert "whl/cu118" in by["pip"]["command"] and "without PTX JIT" in by["pip"]["warnings"][0]
    # conda has torch 2.7.1 only as a CUDA 12.6 build: nothing runs, said with the ways out, and no CPU command
    assert by["conda"]["runs"] == "none" and by["conda"]["variant"] is None and by["conda"]["command"] is None
    assert any("--torch 2.5.1" in a for a in by["conda"]["alternatives"])
    assert data["machine"]["overrides"] == {"ENVGEN_GPU": "RTX 3090", "ENVGEN_CUDA": "11.4"}


def test_case1_cuda_auto_with_the_driver_of_another_machine(capsys, monkeypatch):
    monkeypatch.setenv("ENVGEN_DRIVER", "470.82.01")
    monkeypatch.setenv("ENVGEN_GPU", "RTX 3090")
    code, out, err = run(capsys, "command", "--cuda", "auto", "--torch", "2.7.1", "--platform", "linux-64")
    assert code == 0 and out.strip().endswith("--index-url https://download.pytorch.org/whl/cu118")
    assert "minor-version compatibility" in err
    code, out, err = run(capsys, "command", "--cuda", "auto", "--torch", "2.7.1", "--platform", "linux-64",
                         "--installer", "conda")
    assert code == 1 and out == ""
    assert "error: --cuda auto: no CUDA build of torch 2.7.1 runs on this machine" in err
    assert "torch 2.5.1 cu118 runs on this driver" in err and "--cpu for the CPU build" in err


def test_case1_nothing_runs_exits_1_with_choices_unless_allow_cpu(capsys, monkeypatch):
    monkeypatch.setenv("ENVGEN_DRIVER", "418.39")
    monkeypatch.setenv("ENVGEN_GPU", "RTX 3090")
    code, out, err = run(capsys, "detect", "--platform", "linux-64")
    assert code == 1
    assert "pip: no CUDA build of torch" in out and "choice: update the NVIDIA driver to >= " in out
    assert "error: no CUDA build of any torch runs on this machine" in err and "--allow-cpu" in err
    code, out, err = run(capsys, "detect", "--platform", "linux-64", "--allow-cpu")
    assert code == 0 and "pip: torch " in out and " cpu" in out and "--allow-cpu: the CPU build" in out


# --- 2. pip and conda: one rule, or a stated reason ------------------------------------------------------
def test_case2_pip_and_conda_say_why_they_differ(capsys, monkeypatch):
    monkeypatch.setenv("ENVGEN_DRIVER", "470.82.01")
    monkeypatch.setenv("ENVGEN_GPU", "RTX 3090")
    code, out, _ = run(capsys, "detect", "--platform", "linux-64", "--json")
    data = json.loads(out)
    by = {v["installer"]: v for v in data["variants"]}
    assert code == 0
    assert (by["pip"]["torch"], by["pip"]["variant"]) == ("2.7.1", "cu118")
    assert (by["conda"]["torch"], by["conda"]["variant"]) == ("2.5.1", "cu118")
    assert data["differ"].startswith("pip and conda differ because conda's torch 2.7.1 builds")
    assert "CUDA 12.6 needs a driver >= 560.35.05" in data["differ"]


# --- 3. doctor's fixes, minimal first ---------------------------------------------------------------------
def test_case3_doctor_ranks_the_same_torch_first(capsys):
    code, out, _ = run(capsys, "doctor", "--from", str(COMPAT / "collect_env-2.1.0-cu121-driver470.txt"), "--json")
    finding = next(f for f in json.loads(out)["findings"] if f["cause"] == "driver_too_old")
    assert code == 1 and finding["severity"] == "error"
    first, driver, other = finding["fix"]
    assert first.startswith("pip install torch==2.1.0 ") and first.endswith("whl/cu118")
    assert driver == "# or update the NVIDIA driver to >= 530.30.02: torch 2.1.0+cu121 as installed then runs fully"
    assert other.startswith("pip install torch==2.7.1 ") and "whl/cu118" in other
    assert "install torch 2.1.0 for CUDA 11.8, which this driver runs through minor-version" in finding["message"]


# --- 4. overrides, validated and said --------------------------------------------------------------------
@pytest.mark.parametrize("var, value, says, hint", [
    ("ENVGEN_CUDA", "470.82", "looks like an NVIDIA driver version", "set ENVGEN_DRIVER=470.82"),
    ("ENVGEN_CUDA", "twelve", "is not a CUDA version", "as nvidia-smi prints it"),
    ("ENVGEN_DRIVER", "12.4", "is not an NVIDIA driver version (it looks like a CUDA version", "470.82.01"),
    ("ENVGEN_GPU", "Voodoo 5", "unknown GPU 'Voodoo 5'", "ENVGEN_GPU=8.6"),
], ids=["cuda-driver-like", "cuda-words", "driver-cuda-like", "gpu-unknown"])
def test_case4_bad_overrides_exit_2_with_a_hint(capsys, monkeypatch, var, value, says, hint):
    monkeypatch.setenv(var, value)
    code, out, err = run(capsys, "detect", "--platform", "linux-64")
    assert code == 2 and out == ""
    assert says in err.splitlines()[0] and hint in err.splitlines()[1]


def test_case4_header_names_the_overrides(capsys, monkeypatch):
    monkeypatch.setenv("ENVGEN_DRIVER", "535.104.05")
    monkeypatch.setenv("ENVGEN_GPU", "8.9")
    code, _, err = run(capsys, "detect", "--torch", "2.5.1", "--platform", "linux-64")
    assert code == 0
    assert err.splitlines()[0] == ("# linux-64; NVIDIA driver 535.104.05 on linux; compute capability 8.9 (sm_89) "
                                   "(ENVGEN_GPU=8.9, ENVGEN_DRIVER=535.104.05)")
    assert "# overrides in force: ENVGEN_GPU=8.9, ENVGEN_DRIVER=535.104.05" in err
    assert "no NVIDIA driver" not in err


def test_case4_detect_from_pasted_nvidia_smi(capsys):
    code, out, _ = run(capsys, "detect", "--from", str(COMPAT / "nvidia-smi-470-rtx3090.txt"),
                         "--from", str(COMPAT / "nvidia-smi-470-rtx3090.csv"), "--torch", "2.7.1", "--json")
    data = json.loads(out)
    assert code == 0 and data["platform"] == "linux-64"
    assert data["machine"]["judged_as"] == "NVIDIA driver 470.82.01 on linux; NVIDIA GeForce RTX 3090 (sm_86)"
    assert {v["installer"]: v["variant"] for v in data["variants"]}["pip"] == "cu118"


def test_case4_detect_from_windows_nvidia_smi_and_data_centre(capsys):
    code, out, _ = run(capsys, "detect", "--from", str(COMPAT / "nvidia-smi-551-rtx4060-laptop.txt"), "--json",
                       "--torch", "2.5.1")
    data = json.loads(out)
    assert code == 0 and data["platform"] == "win-64"
    assert {v["installer"]: v["variant"] for v in data["variants"]}["pip"] == "cu124"
    code, out, _ = run(capsys, "detect", "--from", str(COMPAT / "nvidia-smi-450-a100.txt"), "--torch", "2.7.1")
    assert code == 0 and "cuda-compat-12-6" in out  # forward compatibility named for the data-centre GPU


# --- 5. migrate: the driver floor, the verify step, beside the old env -------------------------------------
@pytest.fixture
def listing(tmp_path) -> Path:
    shutil.copy(MIGRATE / "pt112-cu113.explicit.txt", tmp_path / "pt112-cu113.explicit.txt")
    return tmp_path / "pt112-cu113.explicit.txt"


def test_case5_migrate_refuses_a_target_the_driver_cannot_run(capsys, monkeypatch, listing):
    monkeypatch.setenv("ENVGEN_DRIVER", "470.82.01")
    monkeypatch.setenv("ENVGEN_GPU", "RTX 3090")
    args = ("migrate", "--from", str(listing), "--torch", "2.5.1", "--cuda", "12.4", "--platform", "linux-64")
    code, out, err = run(capsys, *args)
    assert code == 2 and out == ""
    assert "CUDA 12.4 needs a driver >= 550.54.15 (>= 525.60.13 through minor-version compatibility)" in err
    assert "--cuda 11.8: torch 2.5.1 cu118 runs here" in err and "--force" in err
    code, out, err = run(capsys, *args, "--force", "--json")
    data = json.loads(out)
    assert code == 1 and data["driver"]["status"] == "refused"
    assert data["notes"] == [("the target's CUDA 12.4 build needs an NVIDIA driver >= 550.54.15 on linux "
                              "(>= 525.60.13 through CUDA minor-version compatibility)")]


def test_case5_migrate_warns_for_minor_version_compatibility(capsys, monkeypatch, listing):
    monkeypatch.setenv("ENVGEN_DRIVER", "470.82.01")
    code, out, err = run(capsys, "migrate", "--from", str(listing), "--torch", "2.5.1", "--cuda", "11.8",
                         "--platform", "linux-64", "-o", "-")
    assert code == 1
    assert "driver: the target's CUDA 11.8 build needs an NVIDIA driver >= 520.61.05 on linux" in err
    assert "it runs only through minor-version compatibility" in err
    assert "# note: the target's CUDA 11.8 build needs an NVIDIA driver >= 520.61.05" in out
    assert "python - 2.5.1 11.8 <<'ENVGEN_VERIFY'\nfrom __future__ import print_function\n" in out
    assert "chr(43)" not in out


def test_case5_new_env_and_new_venv_leave_the_old_env_alone(capsys, monkeypatch, listing, tmp_path):
    monkeypatch.setenv("ENVGEN_DRIVER", "570.124.06")
    code, out, _ = run(capsys, "migrate", "--from", str(listing), "--torch", "2.5.1", "--cuda", "12.4",
                       "--platform", "linux-64", "--new-env", "pt251", "--json")
    steps = json.loads(out)["steps"]
    assert code == 1 and [s["kind"] for s in steps] == ["create", "install", "activate", "verify"]
    assert steps[0]["command"][:5] == ["conda", "create", "--yes", "--name", "pt251"]
    assert steps[1]["command"][:5] == ["conda", "install", "--yes", "--name", "pt251"]
    assert not any(s["kind"] in ("remove", "reset", "backup") for s in steps)
    pip_list = tmp_path / "cpu.pip-list.json"
    shutil.copy(MIGRATE / "cpu-mistake.pip-list.json", pip_list)
    code, out, _ = run(capsys, "migrate", "--from", str(pip_list), "--torch", "2.5.1", "--cuda", "12.4", "--python",
                       "3.11", "--platform", "linux-64", "--new-venv", ".venv-cu124", "--json")
    steps = json.loads(out)["steps"]
    assert code == 1 and [s["kind"] for s in steps] == ["create", "install", "verify"]
    assert steps[0]["command"] == ["python", "-m", "venv", ".venv-cu124"]
    assert steps[1]["command"][:4] == [".venv-cu124/bin/python", "-m", "pip", "install"]
    assert steps[2]["command"][0] == ".venv-cu124/bin/python"
    code, _, err = run(capsys, "migrate", "--from", str(pip_list), "--torch", "2.5.1", "--cuda", "12.4",
                       "--platform", "linux-64", "--new-env", "x", "--installer", "pip")
    assert code == 2 and "--new-env builds a conda environment" in err and "--new-venv" in err


def test_migrate_without_a_gpu_here_states_the_floor_unchecked(capsys, listing, monkeypatch):
    monkeypatch.setenv("ENVGEN_CUDA", "none")  # this machine, as far as envgen is told, has no CUDA
    code, _, err = run(capsys, "migrate", "--from", str(listing), "--torch", "2.5.1", "--cuda", "12.4",
                       "--platform", "linux-64")
    assert code == 1 and "not checked against this machine" in err
    assert os.environ.get("ENVGEN_DRIVER") is None
