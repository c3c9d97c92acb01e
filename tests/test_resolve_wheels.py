"""Commands that always install: the resolver reads each release's `pypi:` facts (companion Python gaps, yanks)
and chooses a Python or a route with every wheel, or refuses with the nearest that install; yanks and the release
notes about a pinned companion reach `command --json` and the manifests. The facts themselves are held against
PyPI by tests/test_pypi_matrix.py; here they are read from the shipped matrix and from edited mini matrices."""

from __future__ import annotations

import json

import pytest
from packaging.version import Version

from envgen.compile.commands import install_command
from envgen.compile.resolve import resolve_one
from envgen.compile.stack import Request
from envgen.errors import MatrixError, Refusal
from envgen.matrix import load_matrix
from envgen.models import Accel, PyVer
from tests.conftest import replace_once
from tests.support.cli import run


def _req(torch, platform, python=None, family="pypi", accel=None, companions=("torchvision", "torchaudio")):
    return Request(torch=Version(torch), accel=Accel.parse(accel) if accel else None, platform=platform,
                   python=PyVer.parse(python) if python else None, installer="pip", family=family,
                   companions=companions)


def _gaps(matrix, torch, role, platform):
    return matrix.release(Version(torch)).pypi.gaps.get(role, {}).get(platform, ())


@pytest.mark.parametrize(("torch", "platform", "role"), [
    ("1.13.0", "linux-64", "torchvision"),  # no cp311 torchvision 0.14.0 wheel
    ("2.5.0", "linux-64", "torchaudio"),  # no cp313 torchaudio 2.5.0 wheel
    ("1.12.0", "osx-arm64", "torchvision"),  # no cp37 arm64 wheel
], ids=["1.13.0-py3.11", "2.5.0-py3.13", "1.12.0-arm64-py3.7"])
def test_no_python_given_chooses_the_newest_with_every_wheel(matrix, torch, platform, role):
    gap = _gaps(matrix, torch, role, platform)
    assert gap, "the shipped matrix records this gap"
    stack = resolve_one(matrix, _req(torch, platform))
    assert stack.python not in gap
    newest = max((p for p in stack.build.python[platform] if not p.freethreaded), key=lambda p: p.sort_key)
    if newest in gap:  # the newest Python was passed over: the note says why
        assert any(f"{role} " in n and "no wheel on PyPI" in n for n in stack.notes), stack.notes
    else:
        assert stack.python == newest


def test_a_python_without_a_companion_wheel_is_refused_with_the_nearest(matrix):
    python = _gaps(matrix, "1.13.0", "torchvision", "linux-64")[0]
    with pytest.raises(Refusal) as exc:
        resolve_one(matrix, _req("1.13.0", "linux-64", python=str(python)))
    assert "torchvision 0.14.0" in str(exc.value) and f"Python {python}" in str(exc.value)
    alternatives = exc.value.alternatives
    assert alternatives[0].startswith("Python ") and alternatives[0] != f"Python {python}"
    assert any(a.startswith(("--with 'torchaudio'", "--with ''")) for a in alternatives)


def test_leaving_the_companion_out_installs(matrix):
    python = _gaps(matrix, "1.13.0", "torchvision", "linux-64")[0]
    stack = resolve_one(matrix, _req("1.13.0", "linux-64", python=str(python), companions=()))
    assert stack.python == python and [p.name for p in stack.packages if p.role != "pin"] == ["torch"]


def test_an_open_route_goes_where_the_companions_have_wheels(matrix):
    assert _gaps(matrix, "1.7.1", "torchvision", "win-64"), "no torchvision 0.8.2 Windows wheel on PyPI"
    stack = resolve_one(matrix, _req("1.7.1", "win-64", family=None, accel="cpu"))
    assert stack.route.family != "pypi"
    with pytest.raises(Refusal) as exc:
        resolve_one(matrix, _req("1.7.1", "win-64", accel="cpu"))
    assert "no wheel on PyPI for win-64" in str(exc.value)


def test_a_refusal_offers_the_variants_and_installers_that_install(matrix):
    with pytest.raises(Refusal) as exc:
        resolve_one(matrix, Request(torch=Version("1.7.1"), accel=Accel.parse("cu102"), platform="win-64",
                                    installer="pip"))
    alternatives = exc.value.alternatives
    assert "--installer conda" in alternatives and "--cpu" in alternatives
    for alt in alternatives:
        if alt.startswith("--cuda "):  # each offered variant gives a command
            resolve_one(matrix, Request(torch=Version("1.7.1"), accel=Accel.parse("cu" + alt[7:].replace(".", "")),
                                        platform="win-64", installer="pip"))


def test_yanked_companion_carries_its_reason(matrix, capsys):
    reason = matrix.release(Version("0.4.1")).pypi.yanked["torchvision"]
    result = run(capsys, "command", "--torch", "0.4.1", "--cuda", "9.0", "--platform", "linux-64",
                 "--installer", "pip", "--json")
    assert result.code == 0, result.err
    (cmd,) = json.loads(result.out)
    vision = next(p for p in cmd["packages"] if p["name"] == "torchvision")
    assert vision["yanked"] == reason
    assert any("torchvision 0.2.1 is yanked on PyPI" in n and reason in n for n in cmd["notes"])
    env = run(capsys, "env", "--torch", "0.4.1", "--cuda", "9.0", "--platform", "linux-64", "--installer", "pip",
              "--dry-run")
    assert env.code == 0, env.err
    assert f"torchvision==0.2.1  # yanked on PyPI: {reason}" in env.out
    env_json = run(capsys, "env", "--torch", "0.4.1", "--cuda", "9.0", "--platform", "linux-64", "--installer",
                   "pip", "--dry-run", "--json")
    (stack_notes,) = json.loads(env_json.out)["notes"]
    assert any(reason in n for n in stack_notes["notes"])


def test_the_lock_says_which_pin_is_yanked(matrix):
    from envgen.lock.inputs import LockOptions, from_stacks

    reason = matrix.release(Version("0.4.1")).pypi.yanked["torchvision"]
    stack = resolve_one(matrix, Request(torch=Version("0.4.1"), accel=Accel.parse("cu90"), platform="linux-64",
                                        installer="pip"))
    spec = from_stacks(matrix, [stack], LockOptions())
    assert any(n.startswith("linux-64: torchvision 0.2.1 is yanked on PyPI") and reason in n for n in spec.notes)
    assert any(name == "torchvision" and reason in why for name, why in spec.reasons)


def test_release_notes_about_a_pinned_companion_reach_the_command(matrix):
    stack = resolve_one(matrix, _req("1.10.0", "linux-64", family="pytorch-index", accel="cu113"))
    assert any("torchvision==0.11.0" in n for n in install_command(stack).notes)
    torch_only = resolve_one(matrix, _req("1.10.0", "linux-64", family="pytorch-index", accel="cu113",
                                          companions=()))
    assert not any("torchvision==0.11.0" in n for n in torch_only.notes)


def test_with_the_installer_open_the_refusal_says_which_wheel_is_missing(capsys):
    result = run(capsys, "command", "--torch", "1.8.0", "--platform", "linux-aarch64")
    assert result.code == 2
    assert "torchvision 0.9.0 and torchaudio 0.8.0 have no wheel on PyPI for linux-aarch64" in result.err
    assert "--with ''" in result.err


def test_refusal_exits_2_with_the_way_out(capsys):
    result = run(capsys, "command", "--torch", "1.13.0", "--platform", "linux-64", "--channel", "pypi",
                 "--python", "3.11")
    assert result.code == 2
    assert "error: torchvision 0.14.0 and torchaudio 0.13.0 have no wheel on PyPI" in result.err
    assert "hint: nearest valid: Python 3.10" in result.err




def test_pypi_facts_are_read_and_resolved(mdir):
    replace_once(mdir / "torch.yaml", '    python: {default: "3.6-3.9"}\n',
          '    python: {default: "3.6-3.9"}\n    pypi:\n      gaps: {torchaudio: {linux-64: ["3.9"]}}\n'
          '      yanked: {torchvision: "broken metadata"}\n      source: [prev-versions]\n')
    mini = load_matrix(mdir, use_cache=False)
    rel = mini.release(Version("1.8.1"))
    assert rel.pypi.gaps == {"torchaudio": {"linux-64": (PyVer.parse("3.9"),)}}
    stack = resolve_one(mini, _req("1.8.1", "linux-64", accel="cu102"))
    assert str(stack.python) == "3.8"
    assert next(p for p in stack.packages if p.role == "torchvision").yanked == "broken metadata"


@pytest.mark.parametrize(("block", "problem"), [
    ('gaps: {torchfoo: {linux-64: ["3.9"]}}', "'torchfoo' is not a companion"),
    ('gaps: {torchaudio: {linux-128: ["3.9"]}}', "unknown platform 'linux-128'"),
    ('gaps: {torchaudio: {linux-64: ["three"]}}', "gaps.torchaudio.linux-64"),
    ("yanked: {torchvision: 12}", "the reason PyPI gives"),
    ("flavour: sour", "flavour"),
], ids=["role", "platform", "python", "reason", "unknown-key"])
def test_bad_pypi_facts_are_named_with_their_place(mdir, block, problem):
    replace_once(mdir / "torch.yaml", '    python: {default: "3.6-3.9"}\n',
          f'    python: {{default: "3.6-3.9"}}\n    pypi:\n      {block}\n      source: [prev-versions]\n')
    with pytest.raises(MatrixError) as exc:
        load_matrix(mdir, use_cache=False)
    text = "\n".join(exc.value.problems)
    assert "matrices/torch.yaml" in text and "(torch 1.8.1).pypi" in text and problem in text, text


def test_pypi_facts_need_a_source(mdir):
    replace_once(mdir / "torch.yaml", '    python: {default: "3.6-3.9"}\n',
          '    python: {default: "3.6-3.9"}\n    pypi:\n      yanked: {torchvision: "x"}\n')
    with pytest.raises(MatrixError) as exc:
        load_matrix(mdir, use_cache=False)
    assert any("pypi-json" in p for p in exc.value.problems)
