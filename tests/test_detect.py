"""detect: the variant for a machine (library and CLI), and the doctor/detect commands end to end."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from envgen.cli import main
from envgen.doctor.detect import auto_accel, choose, runs_on
from envgen.doctor.facts import Facts, Gpu
from envgen.errors import BadInput
from envgen.models import arch_cc

REPORTS = Path(__file__).parent / "golden" / "doctor" / "reports"
LINUX = {"platform": "linux-64", "os": "linux"}


def test_no_nvidia_gpu_means_cpu(matrix):
    accel, reasons = auto_accel(matrix, Facts(**LINUX, gpus=(), unknown={"driver_version": "no NVIDIA driver"}))
    assert accel.kind == "cpu" and "no NVIDIA driver" in reasons[0]


def test_unknown_gpus_mean_cpu_with_the_reason(matrix):
    accel, reasons = auto_accel(matrix, Facts(**LINUX, unknown={"gpus": "NVML: driver not loaded"}))
    assert accel.kind == "cpu" and "driver not loaded" in reasons[0]


@pytest.mark.parametrize("driver, os_name, platform", [("470.82.01", "linux", "linux-64"),
                                                       ("535.104.05", "linux", "linux-64"),
                                                       ("551.61", "windows", "win-64")],
                         ids=["linux-470", "linux-535", "win-551"])
@pytest.mark.parametrize("installer", ["conda", "pip"])
def test_newest_cuda_the_driver_runs(matrix, driver, os_name, platform, installer):
    from envgen.matrix.compat import Machine, gpu, judge_build

    facts = Facts(platform=platform, os=os_name, gpus=(Gpu("NVIDIA GeForce RTX 3090"),), driver_version=driver)
    choice = choose(matrix, facts, installer=installer)
    assert choice.accel.kind == "cuda" and choice.runs in ("full", "minor")
    full, compat = matrix.driver_floor(choice.accel.version, os_name), matrix.minor_compat[choice.accel.version.major]
    assert full <= Version(driver) if choice.runs == "full" else (
        (compat.driver_windows if os_name == "windows" else compat.driver_linux) <= Version(driver) < full)
    # no build of the chosen torch for this platform and installer has a newer CUDA that also runs here
    machine = Machine(os_name, Version(driver), None, (gpu(matrix, "NVIDIA GeForce RTX 3090"),))
    rel = matrix.release(choice.torch)
    newer = [b.accel for b in matrix.builds(torch=choice.torch, platform=platform, installer=installer)
             if b.accel.kind == "cuda" and b.accel.version > choice.accel.version
             and judge_build(matrix, machine, rel, b.accel).ok]
    assert newer == []
    assert any(str(choice.torch) in r for r in choice.reasons)
    assert (choice.warnings != ()) == (choice.runs == "minor")


def test_pinned_torch_keeps_the_torch(matrix):
    facts = Facts(**LINUX, gpus=(Gpu("Tesla T4"),), driver_version="560.35.03")
    choice = choose(matrix, facts, torch=Version("2.5.1"), installer="pip")
    assert choice.torch == Version("2.5.1") and choice.accel.tag == "cu124"


def test_gpu_dropped_by_newer_torch_is_said(matrix):
    facts = Facts(**LINUX, gpus=(Gpu("Tesla K80"),), driver_version="560.35.03")
    choice = choose(matrix, facts, installer="pip")
    newest = max(r.torch for r in matrix.releases if matrix.builds(torch=r.torch, platform="linux-64",
                                                                    installer="pip"))
    assert choice.torch < newest and choice.accel.kind == "cuda"
    assert runs_on(Version("3.7"), matrix.release(choice.torch).accel[choice.accel.tag].archs)
    text = " ".join(choice.reasons)
    assert "sm_37" in text or "oldest CUDA build" in text
    assert f"chose torch {choice.torch}" in text


def _release_without(matrix, cc: str) -> Version:
    """The newest torch whose pip linux-64 CUDA builds all list architectures and none runs on `cc`."""
    for rel in sorted(matrix.releases, key=lambda r: r.torch, reverse=True):
        builds = [b for b in matrix.builds(torch=rel.torch, platform="linux-64", installer="pip")
                  if b.accel.kind == "cuda"]
        lists = [rel.accel.get(b.accel.tag) for b in builds]
        if builds and all(x is not None and x.archs and not runs_on(Version(cc), x.archs) for x in lists):
            return rel.torch
    raise AssertionError("the matrix has no such release")


def test_pinned_torch_without_the_arch_runs_nothing_and_names_a_torch(matrix):
    facts = Facts(**LINUX, gpus=(Gpu("Tesla K80"),), driver_version="999.99")  # the driver is never the limit
    torch = _release_without(matrix, "3.7")
    choice = choose(matrix, facts, torch=torch, installer="pip")
    assert choice.runs == "none"  # never the CPU build on a GPU machine unasked
    assert "dropped kernels for Tesla K80 (sm_37)" in " ".join(choice.reasons)
    assert any("--torch" in a for a in choice.alternatives)


@pytest.mark.parametrize("env, expect", [
    ({"ENVGEN_CUDA": "11.8"}, "cu118"),
    ({"ENVGEN_CUDA": "cu124"}, "cu124"),
    ({"ENVGEN_CUDA": "none"}, "cpu"),
    ({"CONDA_OVERRIDE_CUDA": "12.4"}, "cu124"),
    ({"CONDA_OVERRIDE_CUDA": ""}, "cpu"),
    ({"ENVGEN_CUDA": "11.8", "CONDA_OVERRIDE_CUDA": "12.4"}, "cu118"),
], ids=["envgen", "envgen-tag", "envgen-none", "conda", "conda-empty", "envgen-wins"])
def test_overrides_for_machines_without_a_gpu(matrix, env, expect):
    facts = Facts(**LINUX, gpus=(), env=env)
    accel, reasons = auto_accel(matrix, facts, torch=Version("2.5.1"), installer="pip")
    assert accel.tag == expect
    assert next(iter(env)) in reasons[0]


def test_bad_override_is_bad_input(matrix):
    with pytest.raises(BadInput, match="ENVGEN_CUDA='twelve'"):
        auto_accel(matrix, Facts(**LINUX, env={"ENVGEN_CUDA": "twelve"}))


def test_macos_is_cpu(matrix):
    accel, reasons = auto_accel(matrix, Facts(platform="osx-arm64", os="macos", gpus=()))
    assert accel.kind == "cpu" and "macOS" in reasons[0]


@pytest.mark.parametrize("cc, archs, ok", [
    ("8.9", ("sm_80", "sm_86"), True), ("9.0", ("sm_80", "sm_86"), False), ("9.0", ("sm_80", "compute_80"), True),
    ("6.1", ("sm_60",), True), ("3.7", ("sm_50", "sm_60"), False), ("12.0", ("sm_100", "sm_120"), True),
    ("7.5", ("sm_80",), False),
])
def test_runs_on(cc, archs, ok):
    assert runs_on(Version(cc), archs) is ok


def test_arch_cc():
    assert arch_cc("sm_120") == ("sm", Version("12.0")) and arch_cc("compute_90") == ("compute", Version("9.0"))
    assert arch_cc("gfx90a") is None and arch_cc("sm_90a") == ("sm", Version("9.0"))


# --- the commands -----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def _cache(tmp_path_factory):
    return str(tmp_path_factory.mktemp("cli-cache"))


@pytest.fixture(autouse=True)
def _shared_matrix_cache(_cache, monkeypatch):
    """The command tests share one matrix cache, so the matrix is parsed once for them, not once a test."""
    monkeypatch.setenv("ENVGEN_CACHE_DIR", _cache)


def run(argv, capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(argv)
    out, err = capsys.readouterr()
    return int(done.value.code or 0), out, err


def test_doctor_json_shape_and_exit_1(capsys, tmp_path):
    path = tmp_path / "facts.yaml"
    path.write_text("platform: linux-64\nos: linux\ntorch: 2.2.2\ntorch_cuda: '12.1'\ninstall_method: conda\n"
                    "channel: pytorch\npackages: {mkl: {version: 2024.1.0, installer: conda}}\n")
    code, out, _err = run(["doctor", "--from", str(path), "--json", "--error", "undefined symbol: iJIT_NotifyEvent"],
                         capsys)
    data = json.loads(out)
    assert code == 1 and list(data) == ["findings", "facts", "derived"]
    first = data["findings"][0]
    assert list(first)[:6] == ["cause", "severity", "strength", "message", "evidence", "fix"]
    assert first["cause"] == "mkl_2024_1_ijit" and first["fix"] == ['conda install "mkl<2024.1"']
    assert data["facts"]["error"] == "undefined symbol: iJIT_NotifyEvent"


def test_doctor_merges_several_reports(capsys):
    _code, out, _ = run(["doctor", "--json", "--from", str(REPORTS / "collect_env_1.8_linux_pip.txt"),
                        "--from", str(REPORTS / "nvidia_smi_470_k80.txt")], capsys)
    facts = json.loads(out)["facts"]
    assert facts["torch"] == "1.8.1+cu102" and facts["driver_cuda"] == "11.4"
    assert facts["gpus"] == [{"name": "GeForce RTX 3090"}]  # the first report's GPUs; smi filled the rest


def test_doctor_healthy_exits_0(capsys, tmp_path):
    path = tmp_path / "ok.yaml"
    path.write_text("platform: linux-64\nos: linux\ntorch: 2.5.1+cu124\ntorch_cuda: '12.4'\n"
                    "gpus: [{name: NVIDIA GeForce RTX 3090}]\ndriver_version: 560.35.03\n")
    code, out, _ = run(["doctor", "--from", str(path)], capsys)
    assert code == 0 and "no problems found" in out


def test_doctor_text_output(capsys):
    code, out, _ = run(["doctor", "--from", str(REPORTS / "conda_list_windows_mixed.txt")], capsys)
    assert code == 1 and "[error] mixed_pip_conda" in out and "fix: pip uninstall -y torch" in out


@pytest.mark.parametrize("text, named", [("torch: 1.8.1\ncuda: 10.2\n", "unknown key 'cuda'"),
                                         ("python_bits: 48\n", "python_bits")], ids=["unknown-key", "bad-value"])
def test_doctor_bad_facts_file_exits_2_naming_the_key(capsys, tmp_path, text, named):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, out, err = run(["doctor", "--from", str(path)], capsys)
    assert code == 2 and out == ""
    assert err.startswith("error: ") and named in err and "\nhint: " in err and "Traceback" not in err


def test_doctor_unreadable_report_exits_2(capsys, tmp_path):
    code, _, err = run(["doctor", "--from", str(tmp_path / "missing.txt")], capsys)
    assert code == 2 and "cannot read" in err


def test_doctor_probes_this_machine(capsys):
    code, out, err = run(["doctor", "--json"], capsys)
    data = json.loads(out)
    assert code in (0, 1) and data["facts"]["python_prefix"] == sys.prefix
    assert data["facts"]["platform"] and "Traceback" not in err


def test_detect_json(capsys, monkeypatch):
    monkeypatch.setenv("ENVGEN_CUDA", "12.1")
    code, out, _ = run(["detect", "--json", "--torch", "2.5.1", "--platform", "linux-64"], capsys)
    data = json.loads(out)
    assert code == 0 and data["machine"]["overrides"] == {"ENVGEN_CUDA": "12.1"}
    by = {v["installer"]: v for v in data["variants"]}
    assert set(by) == {"conda", "pip"}
    # a driver that runs CUDA 12.1 runs torch 2.5.1's cu124 build through minor-version compatibility, said
    assert by["pip"]["variant"] == "cu124" and "whl/cu124" in by["pip"]["command"] and by["pip"]["runs"] == "minor"
    assert "minor-version compatibility" in by["pip"]["warnings"][0]
    assert by["conda"]["torch"] == "2.5.1" and "ENVGEN_CUDA=12.1" in by["conda"]["reasons"][0]


def test_detect_text_and_bad_input(capsys, monkeypatch):
    monkeypatch.setenv("ENVGEN_CUDA", "none")
    code, out, _ = run(["detect"], capsys)
    assert code == 0 and "cpu" in out and "ENVGEN_CUDA='none'" in out
    code, _, err = run(["detect", "--torch", "0.0.1"], capsys)
    assert code == 2 and "no torch 0.0.1" in err
    code, _, err = run(["detect", "--platform", "amiga"], capsys)
    assert code == 2 and "unknown platform" in err


@pytest.mark.parametrize("platform,floor", [("linux-64", "525.60.13"), ("win-64", "527.41")])
def test_minor_version_compatibility_is_chosen_with_its_cost(matrix, platform, floor):
    """A driver that runs CUDA 12.1 gets the newest torch: its CUDA 12.x build runs through minor-version
    compatibility, and the warning names the floor for that OS and what it costs."""
    from envgen.doctor.detect import choose

    facts = Facts(**{**LINUX, "platform": platform}, env={"ENVGEN_CUDA": "12.1"})
    choice = choose(matrix, facts, platform=platform, installer="pip")
    assert choice.accel.kind == "cuda" and choice.accel.version.major == 12 and choice.runs == "minor"
    assert f"driver >= {floor}" in choice.warnings[0] and "PTX JIT" in choice.warnings[0]
