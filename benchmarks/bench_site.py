"""`envgen site`: the time to compile and write the site, its size, and its first render in Chromium.

Prints figures; asserts nothing. Run with `nox -s bench` or `python benchmarks/bench_site.py`. The browser part
needs Debian's Chromium (/usr/bin/chromium, or ENVGEN_CHROMIUM) and Playwright; without them it says so.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
GOAL_BYTES = 2 * 1024 * 1024


def main() -> None:
    from envgen.matrix import load_matrix
    from envgen.site.build import build_site

    matrix = load_matrix()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "site"
        t0 = time.perf_counter()
        written = build_site(matrix, out)
        built = time.perf_counter() - t0
        size = sum(p.stat().st_size for p in written)
        data = (out / "data.js").stat().st_size
        print(f"envgen site: {len(written)} files in {built:.1f} s; {size / 1024:.0f} KiB in all "
              f"({size / GOAL_BYTES:.0%} of the 2 MB goal), data.js {data / 1024:.0f} KiB")
        first_render(out)


def first_render(out: Path) -> None:
    chromium = os.environ.get("ENVGEN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).is_file():
        print("first render: no Chromium (apt-get install chromium), not measured")
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
        samples, paints = [], []
        for _ in range(RUNS):
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((out / "index.html").as_uri())
            page.wait_for_function("window.envgenSite && window.envgenSite.firstRender")
            samples.append(page.evaluate("window.envgenSite.firstRender"))
            paints.append(page.evaluate("(performance.getEntriesByName('first-contentful-paint')[0] || {}).startTime"
                                        " || 0"))
            page.close()
        browser.close()
    print(f"first render (performance.now() when the selector is filled, from navigation start): "
          f"{statistics.median(samples):.0f} ms median of {RUNS}; first contentful paint "
          f"{statistics.median(paints):.0f} ms (goal < 1000 ms)")


if __name__ == "__main__":
    main()
