"""Writing the site: the data, the pages and the static assets, each file atomically, byte-stable."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

from envgen.fileio import header, write_atomic
from envgen.matrix import Matrix
from envgen.site import pages
from envgen.site.data import compile_site

ASSETS = ("site.css", "site.js")


def render_data(data: dict[str, Any]) -> str:
    """`data.js`: the data as a script assigning a global (a `<script>` loads it from `file://`; fetch() cannot)."""
    body = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return (header("//", input_hash=data["digest"], command=pages.REGENERATE, title="install selector data")
            + f"window.ENVGEN_SITE = {body};\n")


def render_site(matrix: Matrix) -> dict[str, str]:
    """Every file of the site by its path relative to the site's folder."""
    data = compile_site(matrix)
    files = {"data.js": render_data(data), "index.html": pages.index(data),
             "sources.html": pages.sources(matrix, data), "releases/index.html": pages.releases_index(data)}
    for entry in data["releases"]:
        rel = next(r for r in matrix.releases if str(r.torch) == entry["torch"])
        files[f"releases/{entry['torch']}.html"] = pages.release_page(matrix, rel, entry, data)
    for name in ASSETS:
        files[name] = resources.files("envgen.site").joinpath("assets").joinpath(name).read_text(encoding="utf-8")
    return dict(sorted(files.items()))


def build_site(matrix: Matrix, out: Path) -> list[Path]:
    """Write the site under `out` (each file atomically); returns the paths written."""
    written = []
    for rel_path, text in render_site(matrix).items():
        path = out / rel_path
        write_atomic(path, text)
        written.append(path)
    return written
