"""envgen build-env: goldens per era, refusals, the env script run for real, --check against fake tools."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

import pytest

from envgen.build.check import cudnn_version, version_of
from envgen.build.plan import normalize_arch
from envgen.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(["build-env", "--matrix-dir", str(ROOT / "matrices"), *argv])
    out, err = capsys.readouterr()
    return int(info.value.code or 0), out, err


GOLDEN = [
    # id, argv
    ("0.4.0-win-cu90", ["--torch", "0.4.0", "--cuda", "9.0", "--platform", "win-64", "--shell", "cmd"]),
    ("1.8.1-linux-cu102", ["--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64"]),
    ("2.0.0-linux-cu117", ["--torch", "2.0.0", "--cuda", "11.7", "--platform", "linux-64"]),
    ("2.0.0-win-cu117", ["--torch", "2.0.0", "--cuda", "11.7", "--platform", "win-64", "--vs", "17.4.3"]),
    ("2.0.0-linux-cpu", ["--torch", "2.0.0", "--cpu", "--platform", "linux-64", "--python", "3.10", "--ccache"]),
    ("2.6.0-linux-cu126", ["--torch", "2.6.0", "--cuda", "12.6", "--platform", "linux-64"]),
]


@pytest.mark.parametrize("argv", [g[1] for g in GOLDEN], ids=[g[0] for g in GOLDEN])
def test_golden_outputs(capsys, tmp_path, golden, request, argv):
    name = request.node.callspec.id
    code, _out, _ = run_cli(capsys, *argv, "--arch", "all", "-o", str(tmp_path))
    assert code == 0
    written = sorted(p.name for p in tmp_path.iterdir())
    assert written == sorted(["environment.yml", "CHECKLIST.md", next(n for n in written if n.startswith("build-env."))])
    for path in sorted(tmp_path.iterdir()):
        text = path.read_bytes().decode("utf-8")
        if path.suffix == ".cmd":  # cmd reads CRLF; the golden fixture compares text with universal newlines
            assert "\n" not in text.replace("\r\n", "")
            text = text.replace("\r\n", "\n")
        golden.check(f"build-env/{name}/{path.name}", text)


def test_windows_cuda_build_lists_what_conda_cannot_give(capsys):
    code, out, _ = run_cli(capsys, "--torch", "2.0.0", "--cuda", "11.7", "--platform", "win-64", "--json")
    assert code == 0
    data = json.loads(out)
    items = {c["id"]: c for c in data["checklist"]}
    assert set(items) == {"cuda", "cudnn", "msvc", "nvtx", "magma", "cmake"}
    assert "17.4.0" in items["msvc"]["required"] and "17.4.3" in items["msvc"]["required"]
    assert items["msvc"]["spec"] == "<19.40,>=19.10"
    assert items["magma"]["required"].endswith("magma_2.5.4_cuda117_release.7z")
    assert data["env"]["DISTUTILS_USE_SDK"] == "1" and data["env"]["CMAKE_GENERATOR"] == "Ninja"
    assert "magma-cuda117" not in data["conda"]  # no Windows conda package: the archive instead


def test_linux_build_gets_magma_package_and_gcc_range(capsys):
    _code, out, _ = run_cli(capsys, "--torch", "1.8.1", "--cuda", "10.2", "--platform", "linux-64", "--json")
    data = json.loads(out)
    assert "magma-cuda102" in data["conda"] and "python=3.9" in data["conda"]
    gcc = next(c for c in data["checklist"] if c["id"] == "gcc")
    assert gcc["spec"] == "<9,>=5"


REFUSALS = [
    # id, argv, fragment of the error, fragment of the hint
    ("cuda-never-supported", ["--torch", "2.0.0", "--cuda", "11.6", "--platform", "linux-64"],
     "never supported CUDA 11.6", "--cuda 11.8; --cuda 11.7; --cpu"),
    ("unknown-version", ["--torch", "1.9.7", "--cpu"], "no build facts for torch 1.9.7", "1.9.0, 1.9.1"),
    ("unknown-minor", ["--torch", "0.2.0", "--cpu"], "no build facts for torch 0.2.0", "known eras: 0.3; 0.4"),
    ("no-windows-recipe-0.3", ["--torch", "0.3.1", "--cpu", "--platform", "win-64"],
     "torch 0.3.1 has no source build recipe for win-64", "--platform linux-64"),
    ("cuda-not-built-by-this-release", ["--torch", "1.8.0", "--cuda", "11.0", "--platform", "linux-64"],
     "never supported CUDA 11.0", "--cuda 11.1; --cuda 10.2; --cuda 10.1; --cpu"),
    ("vs-too-old-for-era", ["--torch", "2.0.0", "--cuda", "11.7", "--platform", "win-64", "--vs", "2017"],
     "Visual Studio 2017 cannot build torch 2.0.0", "Visual Studio 2019 16.0-16.11"),
    ("vs-lnk1161", ["--torch", "2.0.0", "--cuda", "11.7", "--platform", "win-64", "--vs", "17.4.2"],
     "LNK1161", "17.4.3"),
    ("vs-too-new-for-cuda", ["--torch", "2.0.0", "--cuda", "11.7", "--platform", "win-64", "--vs", "17.10"],
     "CUDA 11.7 does not accept Visual Studio 17.10", "17.0-17.9"),
    ("vs-2019-for-cuda9", ["--torch", "0.4.0", "--cuda", "9.0", "--platform", "win-64", "--vs", "2019"],
     "cannot build torch 0.4.0 with CUDA 9.0", "Visual Studio 2017 15.0-15.4"),
    ("python-outside-range", ["--torch", "2.0.0", "--cpu", "--platform", "linux-64", "--python", "3.12"],
     "does not build for Python 3.12", "--python 3.11"),
    ("platform-without-facts", ["--torch", "2.0.0", "--cpu", "--platform", "osx-arm64"],
     "no build facts for platform osx-arm64", "--platform linux-64"),
    ("vs-on-linux", ["--torch", "2.0.0", "--cpu", "--platform", "linux-64", "--vs", "2022"], "--vs applies to Windows", ""),
    ("torch-and-ref", ["--torch", "2.0.0", "--ref", "main"], "exactly one of --torch", ""),
    ("check-other-platform", ["--torch", "2.0.0", "--cpu", "--platform", "win-64", "--check"],
     "--check checks this machine", "drop --platform"),
    ("bad-arch", ["--torch", "2.0.0", "--cuda", "11.7", "--platform", "linux-64", "--arch", "ampere"],
     "invalid CUDA architecture 'ampere'", "8.6"),
    ("cmd-cannot-carry-percent", ["--torch", "2.0.0", "--cuda", "11.7", "--platform", "win-64", "--shell", "cmd",
                                  "--cuda-home", "C:\\cuda%x%", "-o", "OUT"], "cmd expands", "--shell"),
]


@pytest.mark.parametrize("argv,error,hint", [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_invalid_requests_exit_2_with_why_and_what_works(capsys, tmp_path, argv, error, hint):
    argv = [str(tmp_path) if a == "OUT" else a for a in argv]
    code, _out, err = run_cli(capsys, *argv)
    assert code == 2
    assert "error: " in err and error in err, err
    assert "hint: " in err and hint in err, err
    assert "Traceback" not in err
    assert not any(tmp_path.iterdir())


ARCHS = [("sm_86", "8.6"), ("8.6", "8.6"), ("sm_80,sm_90", "8.0;9.0"), ("7.5;8.6+PTX", "7.5;8.6+PTX"),
         ("12.0", "12.0"), ("compute_70", "7.0"), ("sm_100", "10.0"), ("sm_120+PTX", "12.0+PTX"), ("86", "8.6"), ("sm_90a", "9.0")]


@pytest.mark.parametrize("text,expected", ARCHS, ids=[a[0] for a in ARCHS])
def test_arch_normalized(text, expected):
    assert normalize_arch(text) == expected


def test_unknown_arch_is_refused_with_the_known_ones(capsys, tmp_path):
    code, _out, err = run_cli(capsys, "--torch", "2.6.0", "--cuda", "12.6", "--platform", "linux-64",
                             "--arch", "sm_99", "-o", str(tmp_path / "out"))
    assert code == 2 and "unknown CUDA architecture 'sm_99'" in err and "hint: known: " in err and "12.0" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("torch,cuda,arch,says", [
    ("1.13.1", "11.7", "3.0", "CUDA 11.7 cannot compile for compute capability 3.0 (sm_30): CUDA before 11.0"),
    ("2.6.0", "12.6", "8.6;5.0;12.0", "CUDA 12.6 cannot compile for compute capability 12.0 (sm_120): CUDA 12.8 or"),
], ids=["kepler-dropped", "blackwell-too-new"])
def test_an_arch_the_toolkit_cannot_compile_is_refused(capsys, tmp_path, torch, cuda, arch, says):
    """matrices/gpus.yaml `targets`: nvcc of that CUDA has no such target; the build would fail hours in."""
    code, _out, err = run_cli(capsys, "--torch", torch, "--cuda", cuda, "--platform", "linux-64", "--arch", arch,
                              "-o", str(tmp_path / "out"))
    assert code == 2 and says in err and "hint: choose such a --cuda" in err
    assert not (tmp_path / "out").exists()


def _fake_bin(folder: Path, scripts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        path = folder / name
        path.write_text("#!/bin/sh\n" + body)
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return folder


def test_bash_script_runs_and_exports_quoted_values(capsys, tmp_path):
    home = "/opt/cuda 11.7/it's here"
    code, _, _ = run_cli(capsys, "--torch", "2.0.0", "--cuda", "11.7", "--platform", "linux-64", "--arch", "sm_86",
                         "--cuda-home", home, "--ccache", "-o", str(tmp_path / "out"))
    assert code == 0
    script = tmp_path / "out" / "build-env.sh"
    assert subprocess.run(["bash", "-n", str(script)], check=False).returncode == 0
    # the hook defines a conda function whose activation reads an unset variable, as conda's activate.d
    # scripts do (e.g. ${ADDR2LINE} in the compiler packages): under `set -u` it would stop the script
    hook = ('conda() { if [ "$1" = activate ]; then _x="${CONDA_BUILD_UNSET_HOOK_VAR}"; '
            'export FAKE_ACTIVATED="$2"; fi; }')
    fake = _fake_bin(tmp_path / "bin", {"conda": f"case \"$1\" in shell.bash) echo '{hook}'; exit 0;; esac\nexit 3\n"})
    env = {"PATH": f"{fake}:/usr/bin:/bin", "CONDA_PREFIX": "/envs/torch build"}
    proc = subprocess.run(["bash", str(script), "env"], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    seen = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
    assert seen["FAKE_ACTIVATED"] == "torch-build-2.0.0-cu117"
    lines = script.read_text().splitlines()  # strict mode is back on after activation
    assert lines.index("set +u") < lines.index("conda activate torch-build-2.0.0-cu117") < lines.index("set -u")
    assert seen["CUDA_HOME"] == home
    assert seen["TORCH_CUDA_ARCH_LIST"] == "8.6"
    assert seen["CMAKE_PREFIX_PATH"] == "/envs/torch build" and seen["MAGMA_HOME"] == "/envs/torch build"
    assert seen["USE_CUDA"] == "1" and seen["CMAKE_CUDA_COMPILER_LAUNCHER"] == "ccache"
    failing = subprocess.run(["bash", str(script), "false"], capture_output=True, text=True, env=env, check=False)
    assert failing.returncode != 0


def test_powershell_script_quotes_values(capsys, tmp_path):
    code, _, _ = run_cli(capsys, "--torch", "2.0.0", "--cuda", "11.7", "--platform", "win-64",
                         "--cuda-home", "C:\\it's $(x)", "-o", str(tmp_path))
    assert code == 0
    text = (tmp_path / "build-env.ps1").read_text()
    assert "$env:CUDA_PATH = 'C:\\it''s $(x)'" in text


# --- --check with fake tools on PATH -------------------------------------------------------------------------
NVCC_117 = """nvcc: NVIDIA (R) Cuda compiler driver
Copyright (c) 2005-2022 NVIDIA Corporation
Built on Wed_Jun__8_16:49:14_PDT_2022
Cuda compilation tools, release 11.7, V11.7.99
Build cuda_11.7.r11.7/compiler.31442593_0
"""
NVCC_118 = NVCC_117.replace("release 11.7, V11.7.99", "release 11.8, V11.8.89")
GCC_11 = "gcc (Ubuntu 11.4.0-1ubuntu1~22.04) 11.4.0\nCopyright (C) 2021 Free Software Foundation, Inc.\n"
GCC_12 = "gcc (Debian 12.2.0-14) 12.2.0\nCopyright (C) 2022 Free Software Foundation, Inc.\n"
CMAKE_326 = "cmake version 3.26.4\n\nCMake suite maintained and supported by Kitware (kitware.com/cmake).\n"
CMAKE_316 = "cmake version 3.16.3\n\nCMake suite maintained and supported by Kitware (kitware.com/cmake).\n"
CL_1934 = ("Microsoft (R) C/C++ Optimizing Compiler Version 19.34.31937 for x64\n"
           "Copyright (C) Microsoft Corporation.  All rights reserved.\n\nusage: cl [ option... ] filename...\n")
CUDNN_H = "#define CUDNN_MAJOR 8\n#define CUDNN_MINOR 5\n#define CUDNN_PATCHLEVEL 0\n"

CHECKS = [
    # id, tools (name -> output; None: absent), cuDNN header text or None, exit code, causes
    ("all-good", {"nvcc": NVCC_117, "gcc": GCC_11, "cmake": CMAKE_326}, CUDNN_H, 0, []),
    ("gcc-too-new", {"nvcc": NVCC_117, "gcc": GCC_12, "cmake": CMAKE_326}, CUDNN_H, 1, ["gcc-out-of-range"]),
    ("wrong-cuda", {"nvcc": NVCC_118, "gcc": GCC_11, "cmake": CMAKE_326}, CUDNN_H, 1, ["cuda-out-of-range"]),
    ("cmake-too-old", {"nvcc": NVCC_117, "gcc": GCC_11, "cmake": CMAKE_316}, CUDNN_H, 1, ["cmake-out-of-range"]),
    ("nothing-installed", {}, None, 1, ["cuda-missing", "cudnn-missing", "gcc-missing", "cmake-missing"]),
]


@pytest.mark.parametrize("tools,cudnn,code,causes", [c[1:] for c in CHECKS], ids=[c[0] for c in CHECKS])
def test_check_against_fake_tools(capsys, tmp_path, monkeypatch, tools, cudnn, code, causes):
    scripts = {name: f"/bin/cat <<'EOF'\n{text}EOF\n" for name, text in tools.items()}
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path / "bin", scripts)))
    monkeypatch.setenv("CUDA_HOME", str(tmp_path / "cuda"))
    monkeypatch.delenv("CONDA_PREFIX", raising=False)
    if cudnn:
        (tmp_path / "inc").mkdir()
        (tmp_path / "inc" / "cudnn_version.h").write_text(cudnn)
        monkeypatch.setenv("CUDNN_INCLUDE_DIR", str(tmp_path / "inc"))
    else:
        monkeypatch.setenv("CUDNN_INCLUDE_DIR", str(tmp_path / "nowhere"))
    got, out, err = run_cli(capsys, "--torch", "2.0.0", "--cuda", "11.7", "--platform", "linux-64", "--check",
                            "--json")
    data = json.loads(out)
    assert got == code, (out, err)
    assert [f["cause"] for f in data["findings"]] == causes
    for f in data["findings"]:
        assert set(f) == {"cause", "severity", "message", "evidence", "fix"} and f["fix"]
    assert data["ok"] is (code == 0)


def test_check_windows_cl_and_nvtx(capsys, tmp_path, monkeypatch):
    scripts = {"nvcc": f"/bin/cat <<'EOF'\n{NVCC_117}EOF\n", "cmake": f"/bin/cat <<'EOF'\n{CMAKE_326}EOF\n",
               "cl": f"/bin/cat >&2 <<'EOF'\n{CL_1934}EOF\nexit 2\n"}
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path / "bin", scripts)))
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc" / "cudnn_version.h").write_text(CUDNN_H)
    monkeypatch.setenv("CUDNN_INCLUDE_DIR", str(tmp_path / "inc"))
    nvtx = tmp_path / "nvtx" / "lib" / "x64"
    nvtx.mkdir(parents=True)
    (nvtx / "nvToolsExt64_1.lib").write_text("")
    monkeypatch.setenv("NVTOOLSEXT_PATH", str(tmp_path / "nvtx"))
    monkeypatch.setattr("envgen.models.host_platform", lambda: "win-64")  # --check runs on the machine it checks
    code, out, _ = run_cli(capsys, "--torch", "2.0.0", "--cuda", "11.7", "--platform", "win-64", "--check", "--json")
    data = json.loads(out)
    assert code == 0
    assert {c["id"]: c["found"] for c in data["checked"]} == {"cuda": "11.7", "cudnn": "8.5.0", "msvc": "19.34",
                                                              "nvtx": "present", "cmake": "3.26.4"}
    assert [f["cause"] for f in data["findings"]] == ["msvc-update-unknown"]  # 19.34 is 17.4.x: which update?
    monkeypatch.delenv("NVTOOLSEXT_PATH")
    code, out, _ = run_cli(capsys, "--torch", "2.0.0", "--cuda", "11.7", "--platform", "win-64", "--check", "--json")
    assert code == 1 and "nvtx-missing" in [f["cause"] for f in json.loads(out)["findings"]]


def test_check_human_output(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(_fake_bin(tmp_path / "bin", {"gcc": f"/bin/cat <<'EOF'\n{GCC_12}EOF\n"})))
    code, out, _ = run_cli(capsys, "--torch", "2.0.0", "--cpu", "--platform", "linux-64", "--check")
    assert code == 1
    assert "FAIL cmake: not found" in out and "ok   gcc: 12.2.0" in out and "[error] CMake not found" in out


VERSIONS = [("nvcc", NVCC_117, "11.7"), ("gcc", GCC_11, "11.4.0"), ("cmake", CMAKE_326, "3.26.4"),
            ("cl", CL_1934, "19.34"), ("gcc", "g++ (GCC) 9.4.0\n", "9.4.0"), ("nvcc", "garbage", None)]


@pytest.mark.parametrize("tool,output,expected", VERSIONS, ids=[f"{v[0]}-{v[2]}" for v in VERSIONS])
def test_tool_versions_parsed(tool, output, expected):
    got = version_of(tool, output)
    assert (str(got) if got else None) == expected


def test_cudnn_header_versions():
    assert str(cudnn_version(CUDNN_H)) == "8.5.0"
    assert str(cudnn_version("#define CUDNN_MAJOR  7\n#define CUDNN_MINOR 6\n#define CUDNN_PATCHLEVEL 5\n")) == "7.6.5"
    assert cudnn_version("nothing here") is None


def test_stdout_without_output_dir_is_environment_yml(capsys):
    code, out, err = run_cli(capsys, "--ref", "main", "--cuda", "13.0", "--platform", "linux-64")
    assert code == 0 and out.startswith("# generated by envgen")
    assert '"intel::mkl-static"' in out and "magma" not in out  # no magma-cuda130 package known
    assert "-o DIR" in err


def test_detected_gpus_pick_the_arch_list():
    from packaging.version import Version

    from envgen.build.plan import BuildRequest, plan
    from envgen.matrix.build import load_build
    from envgen.models import Accel

    bm = load_build(ROOT / "matrices")
    base = {"torch": Version("2.0.0"), "accel": Accel.parse("11.7"), "platform": "linux-64"}
    found = plan(bm, BuildRequest(**base, gpus=("8.6", "7.5")))
    assert dict(found.env)["TORCH_CUDA_ARCH_LIST"] == "8.6;7.5"
    assert any("GPUs found on this machine" in n for n in found.notes)
    every = plan(bm, BuildRequest(**base, gpus=("8.6",), arch="all"))
    assert dict(every.env)["TORCH_CUDA_ARCH_LIST"] == "3.7;5.0;6.0;7.0;7.5;8.0;8.6"
    none = plan(bm, BuildRequest(**base))
    assert dict(none.env)["TORCH_CUDA_ARCH_LIST"] == "3.7;5.0;6.0;7.0;7.5;8.0;8.6"


def test_auto_arch_probes_this_machine(capsys):
    """The real probe runs (NVML / nvidia-smi); without a GPU the release's list is used."""
    from envgen.models import host_platform

    code, out, _ = run_cli(capsys, "--torch", "2.0.0", "--cuda", "11.7", "--platform", host_platform(), "--json")
    assert code in (0, 2)  # 2 where this host platform has no build facts
    if code == 0:
        from envgen.doctor.probe import probe_gpus

        if not probe_gpus().gpus:
            assert "binaries were built with" in " ".join(json.loads(out)["notes"])


def _variants(bm, era, torch, platform):
    cudas = bm.cudas(era, torch, platform)
    return [("cpu", None)] + [(f"cu{c.major}{c.minor}", c) for c in cudas]


def test_every_release_of_the_binary_matrix_builds_or_is_refused_by_the_data():
    """Each torch.yaml release from 0.3.0 on, on linux-64 and win-64, CPU and every CUDA it built: a full plan
    (environment.yml, script, checklist) or a refusal whose reason is written in build.yaml."""
    from packaging.version import Version

    from envgen.build.plan import BuildRequest, plan
    from envgen.build.render import files
    from envgen.errors import Refusal
    from envgen.matrix import load_matrix
    from envgen.matrix.build import load_build
    from envgen.models import Accel

    bm = load_build(ROOT / "matrices")
    releases = [r.torch for r in load_matrix(ROOT / "matrices").releases if r.torch >= Version("0.3.0")]
    planned = refused = 0
    for torch in releases:
        era = bm.era_for(torch)
        assert era is not None, f"torch {torch}: no era in build.yaml"
        for platform in ("linux-64", "win-64"):
            for tag, cuda in _variants(bm, era, torch, platform):
                req = BuildRequest(torch=torch, accel=Accel.parse(str(cuda)) if cuda else Accel("cpu"),
                                   platform=platform, shell="bash" if platform == "linux-64" else "powershell")
                if platform in era.refuse:
                    with pytest.raises(Refusal, match=re.escape(era.refuse[platform])):
                        plan(bm, req)
                    refused += 1
                    continue
                p = plan(bm, req)
                text = files(p)
                assert f"python={p.python}" in text["environment.yml"], (torch, platform, tag)
                assert p.env_name == f"torch-build-{torch}-{tag}"
                if cuda is not None:
                    assert any(c.id == "cuda" and str(cuda) in c.required for c in p.checklist)
                    assert p.host is not None, (torch, cuda)
                planned += 1
    assert planned > 250 and refused >= 2, (planned, refused)
