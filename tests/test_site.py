"""`envgen site`: the static install selector.

The data against `envgen command --json` for every cell (the command's own body, in-process) and for a sample
through the whole command line; the refusals against what the CLI prints; the site byte-stable, under 2 MB, with
its header. Then the real thing: Debian's Chromium driven by Playwright opens the site from file://, selects a
sample of cells from every era and reads the command off the page, reads the reasons of disabled choices, fills
the "what runs on my machine" fields and compares the hidden builds and the ported `judge` with
`envgen.matrix.compat.judge`; screenshots at desktop and phone width (light and dark) go to the test's tmp_path.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import shutil
import time
from html import escape
from pathlib import Path

import pytest
from packaging.version import Version

from envgen.matrix.compat import GpuSpec, Machine, gpu, judge_build, parse_cc
from envgen.models import Accel, DriverVersion, os_of
from envgen.site.build import build_site, render_site
from envgen.site.data import Cell, compile_site, fill, slot_values
from tests.conftest import MINI
from tests.support.cli import run

CHROMIUM = next((p for p in (os.environ.get("ENVGEN_CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium"))
                 if p and Path(p).is_file()), None)
MAX_BYTES = 2 * 1024 * 1024


@pytest.fixture(scope="module")
def site(matrix, tmp_path_factory):
    out = tmp_path_factory.mktemp("site")
    build_site(matrix, out)
    return out, compile_site(matrix)


def cells_of(data):
    """(Cell, row) for every cell of the data."""
    for rel in data["releases"]:
        for row in rel["cells"]:
            yield Cell(rel["torch"], data["platforms"][row[0]], data["families"][row[1]][0], rel["accels"][row[2]],
                       rel["pythons"][row[3]]), row


def command_json(matrix, cell: Cell):
    """`envgen command --json` for `cell`: the command's body (envgen.cli.command.command) with the flags the
    cell stands for, its stdout parsed (the CLI's parsing of the same argv is checked on a sample below)."""
    from envgen.cli import _common
    from envgen.cli.command import command

    a = Accel.parse(cell.accel) if cell.accel else None
    out = io.StringIO()
    loader = _common.load
    _common.load = lambda _dir: matrix
    try:
        with contextlib.redirect_stdout(out):
            command(torch=cell.torch, cuda=cell.accel if a and a.kind == "cuda" else None,
                    rocm=a.dotted if a and a.kind == "rocm" else None, cpu=bool(a and a.kind == "cpu"),
                    xpu=bool(a and a.kind == "xpu"),
                    platform=cell.platform, installer=None, channel=cell.family, python=cell.python, with_=None,
                    json_out=True, matrix_dir=None)
    finally:
        _common.load = loader
    return json.loads(out.getvalue())


def sample(data, n_per_release=4, seed=17):
    """A few cells of every release (every era), spread over its table."""
    rng = random.Random(seed)
    out = []
    for rel in data["releases"]:
        cells = [c for c, _ in cells_of({**data, "releases": [rel]})]
        out += rng.sample(cells, min(n_per_release, len(cells)))
    return out


# --- the data ------------------------------------------------------------------------------------------
def test_every_cell_is_what_envgen_command_json_prints(matrix, site):
    _, data = site
    strings, lists = data["strings"], data["lists"]
    checked = 0
    for cell, row in cells_of(data):
        (answer,) = command_json(matrix, cell)
        got = {"command": strings[row[4]], "notes": [strings[i] for i in lists[row[5]]], "route": strings[row[6]],
               "python": cell.python, "variant": cell.accel, "platform": cell.platform}
        assert got == {k: answer[k] for k in got}, cell
        checked += 1
    print(f"\n{checked} cells compared with envgen command --json")
    assert checked > 5000


def test_a_sample_through_the_whole_command_line(capsys, matrix, site):
    """The cell's flags, parsed by the CLI as a user types them, give the same command."""
    _, data = site
    for cell in sample(data, 1):
        r = run(capsys, "command", *cell.argv(), "--json")
        assert r.code == 0, (cell, r.err)
        assert json.loads(r.out) == command_json(matrix, cell)


def test_every_disabled_choice_carries_envgen_commands_refusal(matrix, site):
    """Every reason of the site, decoded as the page decodes it, is the error `envgen command` raises for the
    selection up to that choice (its body, in-process; the printed form is checked on a sample below)."""
    from envgen.errors import EnvgenError

    _, data = site
    checked = 0
    for rel in data["releases"]:
        axes = (data["platforms"], [f for f, _ in data["families"]], rel["accels"], rel["pythons"])
        for row in rel["no"]:
            cell = Cell(rel["torch"], *[axes[i][v] for i, v in enumerate(row[:4]) if v >= 0])
            reason = fill("".join(data["strings"][i] for i in data["lists"][row[4]]), slot_values(cell))
            with pytest.raises(EnvgenError) as info:
                command_json(matrix, cell)
            assert reason == info.value.message + (f"\nhint: {info.value.hint}" if info.value.hint else ""), cell
            checked += 1
    print(f"\n{checked} disabled choices compared with envgen command's refusal")


def test_disabled_choices_carry_the_refusal_envgen_prints(capsys, site):
    _, data = site
    rng = random.Random(3)
    rows = [(rel, row) for rel in data["releases"] for row in rel["no"]]
    for rel, row in rng.sample(rows, 40):
        key = [v for v in row[:4] if v >= 0]
        axes = (data["platforms"], [f for f, _ in data["families"]], rel["accels"], rel["pythons"])
        cell = Cell(rel["torch"], *[axes[i][v] for i, v in enumerate(key)])
        reason = fill("".join(data["strings"][i] for i in data["lists"][row[4]]), slot_values(cell))
        r = run(capsys, "command", *cell.argv())
        assert r.code == 2
        assert r.err.strip().startswith(f"error: {reason}"), cell  # a refusal without a hint gets the CLI's


def test_every_level_has_a_reason_for_each_missing_choice(site):
    """Below every available choice, each choice of the next level is either available or has a reason."""
    _, data = site
    for rel in data["releases"]:
        ok = {tuple(r[:n]) for r in rel["cells"] for n in range(1, 5)}
        no = {tuple(v for v in r[:4] if v >= 0) for r in rel["no"]}
        sizes = (len(data["platforms"]), len(data["families"]), len(rel["accels"]), len(rel["pythons"]))
        parents = [()]
        for size in sizes:
            for parent in parents:
                for v in range(size):
                    assert ((*parent, v) in ok) != ((*parent, v) in no), (rel["torch"], parent, v)
            parents = [p for p in ok if len(p) == len(parents[0]) + 1]


def test_site_is_byte_stable_small_and_names_its_inputs(matrix, site):
    out, data = site
    again = render_site(matrix)
    files = sorted(p for p in out.rglob("*") if p.is_file())
    assert {str(p.relative_to(out)) for p in files} == set(again)
    assert all(p.read_text() == again[str(p.relative_to(out))] for p in files)
    assert not list(out.rglob(".*")), "temporary files left behind"
    size = sum(p.stat().st_size for p in files)
    print(f"\nsite: {len(files)} files, {size} bytes")
    assert size < MAX_BYTES
    assert len([p for p in files if p.parent.name == "releases"]) == len(matrix.releases) + 1
    head = (out / "data.js").read_text().splitlines()[:2]
    assert head[0].startswith(f"// generated by envgen {data['envgen']}") and matrix.digest in head[1]
    index = (out / "index.html").read_text()
    assert matrix.digest in index.split("<footer>")[1] and "https://" not in index.split("<footer>")[0]
    for page in files:
        if page.suffix == ".html":  # nothing loaded from another host: links only
            text = page.read_text()
            assert "<script src=\"http" not in text and "<link rel=\"stylesheet\" href=\"http" not in text


def test_release_pages_hold_every_command_and_sources_every_source(matrix, site):
    out, data = site
    for rel in data["releases"]:
        text = (out / "releases" / f"{rel['torch']}.html").read_text()
        for row in rel["cells"]:
            assert escape(data["strings"][row[4]], quote=False) in text, (rel["torch"], row)
        assert f'href="../index.html#torch={rel["torch"]}"' in text
    sources = (out / "sources.html").read_text()
    assert all(escape(s.url) in sources for s in matrix.sources.values())


def test_cli_writes_the_site(capsys, tmp_path):
    r = run(capsys, "site", "-o", str(tmp_path / "s"), "--json", "--matrix-dir", str(MINI))
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert "index.html" in report["files"] and (tmp_path / "s" / "releases").is_dir()
    assert report["bytes"] == sum(p.stat().st_size for p in (tmp_path / "s").rglob("*") if p.is_file())


# --- the browser ---------------------------------------------------------------------------------------
DRIVERS = [None, "384.81", "410.48", "418.39", "440.33", "450.80.02", "455.32", "470.57.02", "510.47.03",
           "525.60.13", "535.104.05", "550.54.14", "570.86.10", "580.65.06", "595.71.05"]
DRIVER_CUDAS = [None, "9.0", "10.2", "11.0", "11.4", "11.8", "12.0", "12.2", "12.4", "12.8", "13.0", "13.2"]
GPUS = [["GeForce GTX 780"], ["Tesla K80"], ["NVIDIA GeForce GTX 1080"], ["Tesla V100-SXM2-16GB"],
        ["NVIDIA GeForce RTX 3090"], ["A100-SXM4-40GB"], ["NVIDIA H100 80GB HBM3"], ["NVIDIA GeForce RTX 4090"],
        ["NVIDIA GeForce RTX 5090"], ["3.5"], ["5.0"], ["12.0"], ["an unknown GPU"],
        ["NVIDIA GeForce RTX 3090", "Tesla K80"], ["A100-SXM4-40GB", "Tesla T4"]]


def spec(matrix, text):
    cc = parse_cc(text)
    return GpuSpec(f"compute capability {cc}", cc) if cc else gpu(matrix, text)


def js_gpu(g: GpuSpec):
    return {"name": g.name, "cc": f"{g.cc.major}.{g.cc.minor}" if g.cc else None, "datacenter": g.datacenter}


@pytest.fixture(scope="module")
def page(site):
    if CHROMIUM is None:
        if os.environ.get("ENVGEN_REQUIRE_BROWSER"):
            pytest.fail("no Chromium executable (apt-get install chromium); CI requires the browser tests")
        pytest.skip("no Chromium executable at /usr/bin/chromium or on PATH (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    out, _ = site
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        pg = browser.new_page(viewport={"width": 1280, "height": 900})
        errors: list[str] = []
        pg.on("pageerror", lambda e: errors.append(str(e)))
        pg.route("**/*", lambda route: route.continue_() if route.request.url.startswith("file://")
                 else route.abort())  # file:// only: nothing may come from the network
        started = time.perf_counter()
        pg.goto((out / "index.html").as_uri())
        pg.wait_for_function("window.envgenSite && window.envgenSite.firstRender")
        pg.loaded_in = time.perf_counter() - started
        pg.errors = errors
        yield pg
        browser.close()


SELECT = """cells => cells.map(c => {
  for (const [key, value] of Object.entries(c)) {
    const sel = document.getElementById('sel-' + key);
    sel.value = value;
    sel.dispatchEvent(new Event('change'));
  }
  const got = {};
  for (const key of Object.keys(c)) got[key] = document.getElementById('sel-' + key).value;
  return [got, document.getElementById('command').textContent];
})"""


def test_browser(page, matrix, site, tmp_path, capsys):
    out, data = site
    t0 = time.perf_counter()
    first = page.evaluate("window.envgenSite.firstRender")
    fcp = page.evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime || null")
    assert page.errors == []

    # every era: select the cell's options, read the command
    cells = sample(data)
    wanted = [{"torch": c.torch, "platform": c.platform, "family": c.family, "accel": c.accel, "python": c.python}
              for c in cells]
    shown = page.evaluate(SELECT, wanted)
    for cell, want, (got, command) in zip(cells, wanted, shown, strict=True):
        assert got == want, cell
        (answer,) = command_json(matrix, cell)
        assert command == answer["command"], cell
    # and a few the way a person does it, through the keyboard-reachable selects
    for cell in cells[::60]:
        for key in ("torch", "platform", "family", "accel", "python"):
            page.select_option(f"#sel-{key}", getattr(cell, key))
        assert page.text_content("#command") == command_json(matrix, cell)[0]["command"]
        assert page.text_content("#equiv") == "envgen command " + " ".join(cell.argv())

    # the keyboard reaches every field in order, and the copy button copies
    page.focus("#sel-torch")
    order = []
    for _ in range(14):  # the selects, the summaries of their reasons, the machine's fields, the copy button
        page.keyboard.press("Tab")
        order.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    fields = [x for x in order if x.startswith(("sel-", "m-")) or x == "copy"]
    assert fields == ["sel-platform", "sel-family", "sel-accel", "sel-python", "m-driver", "m-gpu", "copy"], order
    assert "SUMMARY" in order  # the reasons of unavailable choices open from the keyboard
    page.focus("#sel-python")
    page.keyboard.press("Home")  # a select takes arrow keys and Home/End: the newest Python that exists
    page.click("#copy")
    page.wait_for_function("document.getElementById('copied').textContent === 'Copied'")

    # disabled choices say why: torch 0.3.0 has no macOS arm64 build, 2.5.1 no conda-forge route on Windows...
    page.select_option("#sel-torch", "0.3.0")
    option = page.locator("#sel-platform option[value=osx-arm64]")
    assert option.is_disabled()
    r = run(capsys, "command", "--torch", "0.3.0", "--platform", "osx-arm64")
    assert r.err.strip().startswith(f"error: {option.get_attribute('title')}")
    assert option.get_attribute("title") in page.text_content("#why-platform")

    # the machine filter hides what the driver cannot run, exactly where judge says "no"
    hidden_checked = 0
    for torch, platform, family, driver, gpu_text in [("2.5.1", "linux-64", "pytorch-index", "470.57.02", "RTX 3090"),
                                                      ("1.8.1", "win-64", "pytorch-index", "456.81", "GTX 1080"),
                                                      ("2.7.0", "linux-64", "pytorch-index", "550.54.14", "RTX 5090"),
                                                      ("1.13.1", "linux-64", "pytorch", "450.80.02", "A100")]:
        page.fill("#m-driver", "")
        page.fill("#m-gpu", "")
        for key, value in (("torch", torch), ("platform", platform), ("family", family)):
            page.select_option(f"#sel-{key}", value)
        page.fill("#m-driver", driver)
        page.fill("#m-gpu", gpu_text)
        options = page.evaluate("""() => [...document.querySelectorAll('#sel-accel option')]
                                    .map(o => [o.value, o.hidden, o.disabled])""")
        rel = matrix.release(Version(torch))
        machine = Machine(os_of(platform), DriverVersion(driver), None, (spec(matrix, gpu_text),))
        for tag, hidden, disabled in options:
            available = any(b.accel.tag == tag and platform in b.platforms
                            and matrix.routes[b.route].family == family for b in rel.builds)
            if not available:
                continue
            runs = judge_build(matrix, machine, rel, Accel.parse(tag)).runs
            assert hidden == (runs == "no") and disabled == hidden, (torch, tag, runs)
            hidden_checked += 1
        assert page.locator("#sel-accel").input_value() not in [t for t, h, _ in options if h]
    page.fill("#m-driver", "")
    page.fill("#m-gpu", "")

    # the ported judge agrees with envgen.matrix.compat.judge
    rng = random.Random(5)
    builds = [(r, tag) for r in matrix.releases for tag in {b.accel.tag for b in r.builds}]
    cases, expected = [], []
    for _ in range(3000):
        rel, tag = rng.choice(builds)
        driver, names, os_name = rng.choice(DRIVERS), rng.choice(GPUS), rng.choice(["linux", "windows"])
        driver_cuda = rng.choice(DRIVER_CUDAS) if driver is None else None
        gpus = tuple(spec(matrix, n) for n in names)
        entry = next(e for e in data["releases"] if e["torch"] == str(rel.torch))
        archs = entry["judge"].get(tag, [[], True])[0]
        cases.append([{"os": os_name, "driver": driver, "driver_cuda": driver_cuda, "gpus": [js_gpu(g) for g in gpus]},
                      {"tag": tag, "archs": archs}])
        m = Machine(os_name, DriverVersion(driver) if driver else None, Version(driver_cuda) if driver_cuda else None,
                    gpus)
        expected.append(judge_build(matrix, m, rel, Accel.parse(tag)).runs)
    got = page.evaluate("cases => cases.map(([m, b]) => window.envgenSite.judge(m, b).runs)", cases)
    assert got == expected
    verdicts = {v: expected.count(v) for v in sorted(set(expected))}
    assert set(verdicts) == {"full", "minor", "forward", "no", "unknown"}, verdicts  # every branch was compared
    # and finds GPUs by name as the matrix does
    names = [g.name for g in matrix.gpu_models] + [f"NVIDIA {g.name} 24GB" for g in matrix.gpu_models[::7]] + \
        ["Tesla V100-SXM2-16GB", "NVIDIA A100-SXM4-80GB", "NVIDIA GeForce RTX 4060 Laptop GPU", "Radeon"]
    js = page.evaluate("names => names.map(n => window.envgenSite.gpu(n))", names)
    assert js == [js_gpu(gpu(matrix, n)) for n in names]
    # nvidia-smi pasted into the GPU field
    smi = ("| NVIDIA-SMI 535.104.05   Driver Version: 535.104.05   CUDA Version: 12.2     |\n"
           "|   0  NVIDIA GeForce RTX 3090        On  | 00000000:01:00.0 Off |                  N/A |\n")
    read = page.evaluate("t => window.envgenSite.readMachine('', t).machine", smi)
    assert read["driver"] == "535.104.05" and read["gpus"] == [js_gpu(gpu(matrix, "NVIDIA GeForce RTX 3090"))]
    read = page.evaluate("t => window.envgenSite.readMachine('CUDA 12.2', t).machine", "Tesla T4")
    assert read["driver"] is None and read["driver_cuda"] == "12.2" and read["gpus"] == [js_gpu(gpu(matrix, "Tesla T4"))]

    # screenshots: desktop and phone, light and dark
    shots = []
    page.goto("about:blank")
    page.goto((out / "index.html").as_uri() + "#torch=1.8.1&platform=linux-64&family=pytorch&accel=cu102&python=3.8")
    page.wait_for_function("window.envgenSite && window.envgenSite.firstRender")
    assert page.input_value("#sel-accel") == "cu102" and page.input_value("#sel-python") == "3.8"
    page.click("#why-family summary")
    page.fill("#m-driver", "418.39")
    page.fill("#m-gpu", "GeForce GTX 1080")
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for name, width, height in (("desktop", 1280, 900), ("phone", 390, 844)):
            page.set_viewport_size({"width": width, "height": height})
            path = tmp_path / f"selector-{name}-{scheme}.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(path)
        wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 390, "the selector scrolls sideways on a phone"
    page.goto((out / "releases" / "1.8.1.html").as_uri())
    page.screenshot(path=str(tmp_path / "release-phone-dark.png"))
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "a release page scrolls sideways on a phone"
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(color_scheme="light")
    assert all(p.stat().st_size > 10_000 for p in shots)

    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"\nbrowser: {len(cells)} cells compared; {hidden_checked} hidden-build checks; {len(cases)} judge cases "
          f"{verdicts}; first render {first:.0f} ms after navigation start (first contentful paint {fcp} ms; page ready "
          f"{page.loaded_in * 1000:.0f} ms); site {size} bytes; checks took {time.perf_counter() - t0:.1f} s; "
          f"screenshots in {tmp_path}")
    assert len(cells) >= 200
    assert page.errors == []
