"""Fuzzing the readers through the CLI, as a user hands them files: environment.yml (`envgen lock --from FILE
--check`, `envgen migrate --to FILE`), listings (`envgen migrate --from FILE`), pasted reports and facts files
(`envgen doctor --from FILE`).

Inputs are structured but hostile: the right keys with the wrong types, random YAML/JSON trees, deep nesting,
aliases, control and line-breaking characters, rich markup, huge integers, random bytes. Whatever comes in: no
traceback, exit 0, 1 or 2, `error:` and `hint:` lines with exit 2, and nothing written to the working directory.
Offline; derandomized and without an example database, so a run is repeatable and leaves no files behind.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from envgen.doctor.facts import KEYS
from tests.support.cli import run

DATA = Path(__file__).resolve().parent / "data" / "migrate"
FUZZ = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                       HealthCheck.data_too_large])

HOSTILE = ["", " ", "[/bold]", "[red]x", "\u2028", "\x85", "\x1b[2J", "\x00", "a\nb: c", "'", '"', "*a", "&a", "!!int",
           "https://u:SECRET@host/t/TOKEN/pytorch", "../../etc/passwd", "$(rm -rf ~)", "conda-forge", "nodefaults",
           "linux-64", "win-64", "python=3.11", "pytorch=2.5.1", "pytorch::pytorch>=2", "torch==2.5.1+cu124",
           "numpy @ file:///tmp/x.whl", "--index-url https://download.pytorch.org/whl/cu124", "-e .", "pip",
           "cuda-version=12.4", "2.5.1", "12.4", "3.11", "yes", "null", "~", "0x1F", "1e999", "9" * 4400]
TEXT = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=20),
                 st.text(alphabet="[]{}:,-#&*!|>'\"%@`\n\t \\=<~a1.", max_size=20))
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), TEXT)  # huge ints: spliced as text
TREES = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4) | st.dictionaries(TEXT, kids, max_size=4),
                     max_leaves=12)


def _yaml(data: object) -> str:
    out = io.StringIO()
    YAML(typ="safe", pure=True).dump(data, out)
    return out.getvalue()


def _render(data: object, style: str) -> str:
    return json.dumps(data, default=str) if style == "json" else _yaml(data)


@st.composite
def hostile_file(draw: st.DrawFn, document: st.SearchStrategy[object], lines: st.SearchStrategy[str]) -> bytes:
    """A document rendered as YAML or JSON, a text of lines, or something a careless user might pass instead."""
    kind = draw(st.sampled_from(["document", "document", "lines", "lines", "bytes", "deep", "aliases", "spliced"]))
    if kind == "document":
        text = _render(draw(document), draw(st.sampled_from(["yaml", "json"])))
    elif kind == "lines":
        text = "\n".join(draw(st.lists(lines, min_size=1, max_size=12))) + draw(st.sampled_from(["", "\n", "\r\n"]))
    elif kind == "bytes":
        return draw(st.binary(max_size=200))
    elif kind == "deep":
        depth = draw(st.integers(50, 5000))
        text = draw(st.sampled_from(["dependencies: ", "", "[{\"name\": "])) + \
            draw(st.sampled_from(["[", "{a: ", "- "])) * depth
    elif kind == "aliases":
        width = draw(st.integers(2, 12))
        text = "".join(f"{b}: &{b} [" + ", ".join([f"*{a}" if a else "x"] * width) + "]\n"
                       for a, b in zip(["", *"abcdefg"], "abcdefgh", strict=True))
        text += f"dependencies: *{draw(st.sampled_from('abcdefgh'))}\n"
    else:
        text = _render(draw(document), "yaml")
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(TEXT) + text[cut:]
    return text.encode("utf-8", "surrogatepass")


ENV_DOC = st.fixed_dictionaries({}, optional={
    "name": st.one_of(TEXT, TREES),
    "channels": st.one_of(TEXT, st.lists(st.one_of(TEXT, TREES), max_size=4)),
    "dependencies": st.one_of(TEXT, TREES, st.lists(st.one_of(
        TEXT, st.dictionaries(st.just("pip"), st.one_of(TEXT, st.lists(st.one_of(TEXT, TREES), max_size=4))),
        TREES), max_size=6)),
    "platforms": st.one_of(TEXT, st.lists(st.one_of(TEXT, TREES), max_size=3)),
    "prefix": st.one_of(TEXT, TREES),
})
ENV_LINES = st.one_of(st.sampled_from(["name: x", "channels:", "dependencies:", "  - pip:", "platforms: linux-64"]),
                      TEXT.map(lambda t: "  - " + t), TEXT.map(lambda t: "    - " + t))

WORD = st.one_of(TEXT, st.sampled_from(["pytorch", "torch", "python", "pypi", "pypi_0", "<pip>", "[cuda]"]))
LISTING_RECORD = st.fixed_dictionaries({}, optional={
    k: st.one_of(WORD, SCALARS, TREES) for k in ("name", "version", "build_string", "channel", "base_url",
                                                 "platform", "subdir", "dist_name")})
LISTING_DOC = st.one_of(st.lists(LISTING_RECORD, max_size=5), TREES)
LISTING_LINES = st.one_of(
    st.sampled_from(["@EXPLICIT", "# platform: linux-64", "# packages in environment at /opt/conda/envs/x:",
                     "# Name  Version  Build  Channel", "dependencies:"]),
    st.lists(WORD, min_size=1, max_size=5).map("  ".join),
    st.tuples(WORD, WORD).map(lambda p: f"{p[0]}=={p[1]}"),
    st.tuples(WORD, WORD).map(lambda p: f"{p[0]} @ https://h/{p[1]}-1.0-py3-none-any.whl"),
    st.tuples(WORD, WORD, WORD).map(lambda p: f"https://conda.anaconda.org/{p[0]}/linux-64/{p[1]}-1.0-{p[2]}.conda"),
)

FACTS_DOC = st.fixed_dictionaries({}, optional={k: st.one_of(SCALARS, TREES) for k in KEYS})
REPORT_LINES = st.one_of(
    st.sampled_from(["PyTorch version: 2.1.0+cu121", "PyTorch version: N/A", "Is CUDA available: True",
                     "CUDA used to build PyTorch: 12.1", "OS: Ubuntu 22.04 (x86_64)", "GPU models and configuration:",
                     "NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2",
                     "name, driver_version, memory.total [MiB], compute_cap", "Package    Version", "---------- -------",
                     "Python platform: Linux-5.15-x86_64", "cuDNN version: 8902"]),
    st.tuples(st.sampled_from(["PyTorch version", "Python version", "Nvidia driver version", "cuDNN version",
                               "GPU 0", "OS", "CUDA used to build PyTorch"]), WORD).map(": ".join),
    st.tuples(st.sampled_from(["[pip3] ", "[conda] ", "|   0  ", ""]), st.lists(WORD, min_size=1, max_size=4))
      .map(lambda p: p[0] + "  ".join(p[1])),
    st.lists(WORD, min_size=2, max_size=4).map(", ".join),
    TEXT,
)


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty working directory (nothing may appear in it) and a separate folder for the inputs."""
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    inputs = tmp_path / "inputs"
    inputs.mkdir()
    return work, inputs


def _check(result, work: Path, allowed: tuple[str, ...] = ()) -> None:
    assert result.code in (0, 1, 2), (result.code, result.err)
    if result.code == 2:
        lines = result.err.splitlines()
        assert lines and lines[0].startswith("error: "), result.err
        assert any(line.startswith("hint: ") for line in lines), result.err
    left = sorted(p.name for p in work.iterdir() if p.name not in allowed)
    assert left == [], left


def _write(inputs: Path, name: str, raw: bytes) -> str:
    path = inputs / name
    path.write_bytes(raw)
    return str(path)


@FUZZ
@given(raw=hostile_file(ENV_DOC, ENV_LINES))
def test_environment_yml_via_lock_check(capsys, workdir, raw):
    work, inputs = workdir
    path = _write(inputs, "environment.yml", raw)
    _check(run(capsys, "lock", "--from", path, "--check", "-o", str(inputs / "locks")), work)


@FUZZ
@given(raw=hostile_file(ENV_DOC, ENV_LINES))
def test_environment_yml_as_a_migrate_target(capsys, workdir, raw):
    work, inputs = workdir
    path = _write(inputs, "environment.yml", raw)
    _check(run(capsys, "migrate", "--from", str(DATA / "pt251.conda-json.json"), "--to", path), work)


@FUZZ
@given(raw=hostile_file(LISTING_DOC, LISTING_LINES), fmt=st.sampled_from([None, None, "conda-list", "conda-json",
                                                                         "conda-explicit", "conda-env", "pip-freeze",
                                                                         "pip-json"]))
def test_listings_via_migrate(capsys, workdir, raw, fmt):
    work, inputs = workdir
    path = _write(inputs, "listing.txt", raw)
    args = ["migrate", "--from", path, "--torch", "2.5.1", "--cuda", "12.4", "--platform", "linux-64",
            "--python", "3.11", *(["--format", fmt] if fmt else [])]
    _check(run(capsys, *args), work)
    _check(run(capsys, *args, "--json"), work)


@FUZZ
@given(raw=hostile_file(FACTS_DOC, REPORT_LINES))
def test_reports_and_facts_via_doctor(capsys, workdir, raw):
    work, inputs = workdir
    path = _write(inputs, "report.txt", raw)
    _check(run(capsys, "doctor", "--from", path), work)
    _check(run(capsys, "doctor", "--from", path, "--json"), work)
