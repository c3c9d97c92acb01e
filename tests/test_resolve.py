"""Request -> Stack on a small frozen matrix: pins, channels, indexes, defaults and refusals."""

import pytest
from packaging.version import Version

from envgen.compile.resolve import resolve, resolve_one
from envgen.compile.stack import Pin, Request
from envgen.errors import Refusal
from envgen.models import Accel, PyVer

V = Version


def req(torch=None, accel=None, platform="linux-64", python=None, installer=None, family=None, **kw):
    return Request(torch=V(torch) if torch else None, accel=Accel.parse(accel) if accel else None,
                   platform=platform, python=PyVer.parse(python) if python else None, installer=installer,
                   family=family, **kw)


CASES = [
    ("1.8.1-cu102-conda", req("1.8.1", "cu102", installer="conda"),
     ["pytorch==1.8.1", "torchvision==0.9.1", "torchaudio==0.8.1", "cudatoolkit=10.2", "numpy<2"], ("pytorch",)),
    ("1.8.1-cu111-conda-extra-channel", req("1.8.1", "11.1", installer="conda"),
     ["pytorch==1.8.1", "torchvision==0.9.1", "torchaudio==0.8.1", "cudatoolkit=11.1", "numpy<2"],
     ("pytorch", "conda-forge")),
    ("1.8.1-cpu-conda", req("1.8.1", "cpu", installer="conda"),
     ["pytorch==1.8.1", "torchvision==0.9.1", "torchaudio==0.8.1", "cpuonly", "numpy<2"], ("pytorch",)),
    ("0.3.1-peterjc123-cuda90", req("0.3.1", "cu90", platform="win-64", installer="conda"),
     ["pytorch=0.3.1", "torchvision=0.2.0", "cuda90", "numpy<2"], ("peterjc123",)),
    ("0.3.1-peterjc123-default-is-cuda8", req("0.3.1", "cu80", platform="win-64", installer="conda"),
     ["pytorch=0.3.1", "torchvision=0.2.0", "numpy<2"], ("peterjc123",)),
    ("0.3.1-peterjc123-cpu-name", req("0.3.1", "cpu", platform="win-64", installer="conda"),
     ["pytorch-cpu=0.3.1", "torchvision=0.2.0", "numpy<2"], ("peterjc123",)),
    ("2.5.1-pytorch-cuda", req("2.5.1", "12.1", installer="conda"),
     ["pytorch==2.5.1", "torchvision==0.20.1", "torchaudio==2.5.1", "pytorch-cuda=12.1", "mkl<2024.1"],
     ("pytorch", "nvidia")),
    ("2.5.1-conda-forge-build-glob", req("2.5.1", "12.4", installer="conda", family="conda-forge"),
     ["pytorch=2.5.1=cuda*", "torchvision==0.20.1", "torchaudio==2.5.1", "cuda-version=12.4"], ("conda-forge",)),
]


@pytest.mark.parametrize("name,request_,specs,channels", CASES, ids=[c[0] for c in CASES])
def test_conda_stacks(mini, name, request_, specs, channels):
    stack = resolve_one(mini, request_)
    assert [p.conda_spec() for p in stack.all_pins()] == specs
    assert stack.channels == channels
    assert all(u.startswith("https://") for u in stack.channel_urls)


PIP = [
    ("1.8.1-cu102-find-links", req("1.8.1", "cu102", installer="pip"),
     ["torch==1.8.1+cu102", "torchvision==0.9.1+cu102", "torchaudio==0.8.1", "numpy<2"],
     (None, (), ("https://download.pytorch.org/whl/torch_stable.html",))),
    ("1.8.1-pypi-default-cuda", req("1.8.1", "cu102", installer="pip", family="pypi"),
     ["torch==1.8.1", "torchvision==0.9.1", "torchaudio==0.8.1", "numpy<2"], (None, (), ())),
    ("2.5.1-index-url", req("2.5.1", "cu118", installer="pip"),
     ["torch==2.5.1", "torchvision==0.20.1", "torchaudio==2.5.1"], ("https://download.pytorch.org/whl/cu118", (), ())),
]


@pytest.mark.parametrize("name,request_,specs,index", PIP, ids=[c[0] for c in PIP])
def test_pip_stacks(mini, name, request_, specs, index):
    stack = resolve_one(mini, request_)
    assert [p.pip_spec() for p in stack.all_pins()] == specs
    assert (stack.index_url, stack.extra_index_urls, stack.find_links) == index


def test_defaults_are_chosen_and_explained(mini):
    stacks = resolve(mini, req(platform="linux-64"))
    assert [s.installer for s in stacks] == ["conda", "pip"]
    conda = stacks[0]
    assert conda.torch == V("2.5.1") and conda.accel == Accel.parse("cu124")
    assert conda.python == PyVer.parse("3.12")  # newest Python of that build, not of the release
    assert any("newest" in n for n in conda.notes)
    assert stacks[1].python == PyVer.parse("3.13")


def test_facts_travel_with_the_stack(mini):
    s = resolve_one(mini, req("1.8.1", "cu102", installer="conda", platform="win-64"))
    assert s.cudnn == "7.6.5" and s.driver_floor == V("441.22") and "sm_70" in s.archs


def test_only_one_installer_when_only_one_exists(mini):
    stacks = resolve(mini, req("0.3.1", "cu90", platform="win-64"))
    assert [s.installer for s in stacks] == ["conda"]


REFUSALS = [
    ("cuda-never-built", req("1.8.1", "11.3"), "no build of torch 1.8.1 for CUDA 11.3 on linux-64",
     "CUDA 11.1 (conda, pip)"),
    ("unknown-version", req("1.8.3"), "unknown torch version 1.8.3", "torch 1.8.1"),
    ("win32", req("2.5.1", platform="win-32"), "32-bit Windows", "win-64"),
    ("cuda-on-macos", req("1.8.1", "10.2", platform="osx-64"), "no CUDA support", "CPU (conda"),
    ("python-without-binaries", req("1.8.1", "10.2", python="3.11"), "Python 3.11 has no binaries",
     "Python 3.6-3.9"),
    ("channel-ended", req("2.5.1", "cu124", installer="conda", family="pytorch", platform="osx-arm64"), "no build", "CPU"),
]


@pytest.mark.parametrize("name,request_,message,alternative", REFUSALS, ids=[c[0] for c in REFUSALS])
def test_refusals_explain_and_offer(mini, name, request_, message, alternative):
    with pytest.raises(Refusal) as exc:
        resolve(mini, request_)
    assert message in exc.value.message
    assert any(alternative in a for a in exc.value.alternatives), exc.value.alternatives
    assert exc.value.hint.startswith("nearest valid: ")


def test_nearest_cuda_ranked_by_distance(mini):
    with pytest.raises(Refusal) as exc:
        resolve(mini, req("1.8.1", "11.3"))
    alts = exc.value.alternatives
    assert alts.index("CUDA 11.1 (conda, pip)") < alts.index("CUDA 10.2 (conda, pip, pypi)")


@pytest.mark.parametrize("spec,name,constraint,build", [
    ("mkl<2024.1", "mkl", "<2024.1", None), ("cudatoolkit=10.2", "cudatoolkit", "=10.2", None),
    ("blas=*=mkl", "blas", "=*", "mkl"), ("cuda90", "cuda90", "", None), ("numpy >=1.19", "numpy", ">=1.19", None),
])
def test_spec_pins_round_trip(spec, name, constraint, build):
    from envgen.compile.resolve import _spec_pin

    pin = _spec_pin(spec, "pin", "why")
    assert (pin.name, pin.constraint, pin.build) == (name, constraint, build)
    assert pin.conda_spec().replace(" ", "") == spec.replace(" ", "")


def test_pin_specs_parse_in_rattler(mini):
    """Every conda spec we emit is a valid MatchSpec for the solver."""
    from rattler import MatchSpec

    for _name, request_, *_ in CASES:
        for pin in resolve_one(mini, request_).all_pins():
            MatchSpec(pin.conda_spec())
    assert MatchSpec(Pin("pytorch", "=2.5.1", "torch", build="cuda*").conda_spec()).build == "cuda*"


def test_a_companion_without_a_release_is_explained(mini):
    """--with torchtext for a release that has none: left out, and the notes say so."""
    s = resolve_one(mini, req("2.5.1", "cu124", installer="pip", companions=("torchvision", "torchtext")))
    assert [p.name for p in s.packages if p.role != "pin"] == ["torch", "torchvision"]
    assert any("torchtext was asked for" in n for n in s.notes)


@pytest.mark.parametrize("accel,words", [
    ("11.3", "matrix note: the previous-versions page says cudatoolkit=11.3"),  # the page's known error
    ("11.9", "no PyTorch build of any release uses CUDA 11.9"),                # a CUDA that never existed
], ids=["page-error", "no-such-cuda"])
def test_refusal_says_what_the_matrix_knows(mini, accel, words):
    with pytest.raises(Refusal) as exc:
        resolve(mini, req("1.8.1", accel))
    assert words in exc.value.message
