"""`envgen site -o DIR`: the static install selector for every release, generated from the matrix."""

from __future__ import annotations

from pathlib import Path

import typer

from envgen.cli import _common as common
from envgen.cli import _options as options


def register(app: typer.Typer) -> None:
    app.command("site", help="Write a static install selector for every release (HTML, CSS, a small script; "
                             "opens from file://).")(site)


def site(
    out: Path = typer.Option(..., "-o", "--output", help="folder to write the site into"),
    json_out: bool = options.JSON_OPTION,
    matrix_dir: str | None = options.MATRIX_DIR_OPTION,
) -> None:
    from envgen.site.build import build_site

    matrix = common.load(matrix_dir)
    common.note(f"compiling every cell of {len(matrix.releases)} releases through envgen command ...")
    written = build_site(matrix, out)
    size = sum(p.stat().st_size for p in written)
    if json_out:
        common.print_json({"output": str(out), "files": [str(p.relative_to(out)) for p in written], "bytes": size,
                           "digest": matrix.digest})
        return
    common.note(f"wrote {len(written)} files ({size / 1024:.0f} KiB) to {out}; open {out / 'index.html'}")
