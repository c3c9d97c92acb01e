"""28 real research environment files (tests/data/public-envs, sources in SOURCES.md) go through `--from` as a
user would hand them in: read, compiled to a LockSpec for linux-64 (channels as written, __cuda from the file's
CUDA pin or the default, pip lines no hash can pin set aside), and with `--cpu` the CPU build of the file's own
torch. Pinned per file, so a change in how envgen reads real files shows up here. (Solving them needs the real
channels; the shared real-metadata channels lack the `defaults` packages and Pythons most of them name.)"""

from __future__ import annotations

import pytest

from envgen.lock.inputs import load_env, spec_for
from envgen.lock.request import LockRequest
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "data" / "public-envs"

# file, channels (last URL segment, in order), __cuda, pip lines set aside, torch chosen for --cpu ("stack": the
# file names no torch, so the matrix's newest is added)
CASES = [
    ("CompVis__latent-diffusion__environment.yaml", ("pytorch", "main"), "11.0", 3, "1.7.0"),
    ("CompVis__stable-diffusion__environment.yaml", ("pytorch", "main"), "11.3", 3, "1.11.0"),
    ("CompVis__taming-transformers__environment.yaml", ("pytorch", "main"), "10.2", 1, "1.7.0"),
    ("NVlabs__edm__environment.yml", ("pytorch", "nvidia"), "12.0", 0, "1.12.1"),
    ("NVlabs__eg3d__eg3d__environment.yml", ("pytorch", "nvidia"), "11.1", 0, "1.11.0"),
    ("NVlabs__stylegan3__environment.yml", ("pytorch", "nvidia"), "11.1", 0, "1.9.1"),
    ("RosettaCommons__RFdiffusion__env__SE3nv.yml", ("main", "conda-forge", "pytorch", "dglteam", "nvidia"), "11.1", 0, "1.9.1"),
    ("Stability-AI__stablediffusion__environment.yaml", ("pytorch", "main"), "11.3", 1, "1.12.1"),
    ("Vision-CAIR__MiniGPT-4__environment.yml", ("pytorch", "main", "anaconda"), "12.0", 0, "2.0.0"),
    ("aqlaboratory__openfold__environment.yml", ("conda-forge", "bioconda", "pytorch", "nvidia"), "12.4", 1, "2.5.1"),
    ("autonomousvision__convolutional_occupancy_networks__environment.yaml", ("conda-forge", "pytorch", "main"), "12.0", 0, "1.4.0"),
    ("facebookresearch__DiT__environment.yml", ("pytorch", "nvidia"), "11.7", 0, "2.5.1"),
    ("facebookresearch__dinov2__conda-extras.yaml", ("main", "pytorch", "nvidia", "xformers", "conda-forge"), "11.7", 1, "2.0.0"),
    ("facebookresearch__dinov2__conda.yaml", ("main", "pytorch", "nvidia", "xformers", "conda-forge"), "11.7", 1, "2.0.0"),
    ("facebookresearch__esm__environment.yml", ("conda-forge", "bioconda", "pytorch"), "11.3", 1, "1.12.1"),
    ("gcorso__DiffDock__environment.yml", ("pyg", "nvidia", "pytorch", "conda-forge", "main"), "12.0", 2, "1.13.1"),
    ("guoyww__AnimateDiff__environment.yaml", ("pytorch", "nvidia"), "11.7", 0, "1.13.1"),
    ("hbb1__2d-gaussian-splatting__environment.yml", ("pytorch", "nvidia", "conda-forge", "main"), "12.0", 0, "2.0.0"),
    ("isl-org__ZoeDepth__environment.yml", ("pytorch", "nvidia", "conda-forge"), "11.7", 0, "1.13.1"),
    ("lllyasviel__ControlNet__environment.yaml", ("pytorch", "main"), "11.3", 0, "1.12.1"),
    ("magic-research__magic-animate__environment.yaml", ("conda-forge", "main"), "12.0", 0, "2.0.1"),
    ("mlfoundations__open_flamingo__environment.yml", ("main",), "12.0", 4, "stack"),
    ("mlfoundations__task_vectors__environment.yml", ("pytorch", "conda-forge", "main"), "11.6", 0, "1.12.1"),
    ("real-stanford__diffusion_policy__conda_environment.yaml", ("pytorch", "pytorch3d", "nvidia", "conda-forge"), "11.6", 2, "1.12.1"),
    ("sxyu__pixel-nerf__environment.yml", ("pytorch", "main"), "12.0", 0, "1.6.0"),
    ("timothybrooks__instruct-pix2pix__environment.yaml", ("pytorch", "main"), "11.3", 3, "1.11.0"),
    ("yisol__IDM-VTON__environment.yaml", ("pytorch", "nvidia", "main"), "11.8", 0, "2.0.1"),
    ("zju3dv__LoFTR__environment.yaml", ("pytorch", "conda-forge", "main"), "10.2", 1, "1.8.1"),
]


def test_the_corpus_is_complete():
    assert sorted(c[0] for c in CASES) == sorted(p.name for p in CORPUS.glob("*.y*ml"))


@pytest.mark.parametrize(("name", "channels", "cuda", "set_aside", "cpu_torch"), CASES, ids=[c[0].split("__")[1] + "/" + c[0].split("__")[-1] for c in CASES])
def test_a_public_environment_file(matrix, name, channels, cuda, set_aside, cpu_torch):
    env = load_env(CORPUS / name)
    spec = spec_for(matrix, LockRequest(platforms=("linux-64",), from_=name), env)
    part = spec.platforms[0]
    assert part.conda is not None
    assert tuple(c.rstrip("/").rsplit("/", 1)[-1] for c in part.conda.channels) == channels
    assert next(v.version for v in part.conda.virtual if v.name == "__cuda") == cuda
    assert len(part.pip.unlocked if part.pip else ()) == set_aside
    assert all(not s.startswith("https://repo.anaconda.com") or "main" in channels for s in part.conda.specs)
    cpu = spec_for(matrix, LockRequest(platforms=("linux-64",), from_=name, cpu=True), env)
    chosen = next((n.split("-> torch ")[1].split(",")[0] for n in cpu.notes if "-> torch " in n), "stack")
    assert chosen == cpu_torch
    torch = [s for s in (cpu.platforms[0].conda.specs if cpu.platforms[0].conda else ()) if "pytorch=" in s
             or "pytorch==" in s] + [r for r in (cpu.platforms[0].pip.requirements if cpu.platforms[0].pip else ())
                                      if r.startswith("torch==")]
    assert len(torch) == 1, torch  # one torch: the file's own, in its CPU build


def test_set_aside_lines_are_the_unhashable_ones(matrix):
    env = load_env(CORPUS / "CompVis__stable-diffusion__environment.yaml")
    pip = spec_for(matrix, LockRequest(platforms=("linux-64",), from_="environment.yaml"), env).platforms[0].pip
    assert pip is not None and all(line.startswith("-e ") for line in pip.unlocked)
    assert not any(r.startswith("-e") for r in pip.requirements)
