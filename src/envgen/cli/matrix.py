"""`envgen matrix`: what exists.

typer is imported only by `register`: the light path (`cli._light`) calls `matrix_cmd` without building the app.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envgen.cli import _common as common
from envgen.cli._tables import Grid, show

if TYPE_CHECKING:
    import typer


def register(app: typer.Typer) -> None:
    import typer

    from envgen.cli import _options as options

    def matrix_cli(
        torch: str | None = typer.Option(None, "--torch", help="a torch version: its variants, Pythons, companions"),
        cuda: str | None = typer.Option(None, "--cuda", help="a CUDA version: which releases have it, where"),
        rocm: str | None = typer.Option(None, "--rocm", help="a ROCm version"),
        cpu: bool = typer.Option(False, "--cpu", help="CPU builds"),
        python: str | None = typer.Option(None, "--python", help="only builds with binaries for this Python"),
        platform: str | None = typer.Option(None, "--platform", help="only this conda subdir"),
        installer: str | None = typer.Option(None, "--installer", help="conda or pip"),
        json_out: bool = options.JSON_OPTION,
        matrix_dir: str | None = options.MATRIX_DIR_OPTION,
    ) -> None:
        matrix_cmd(torch=torch, cuda=cuda, rocm=rocm, cpu=cpu, python=python, platform=platform, installer=installer,
                   json_out=json_out, matrix_dir=matrix_dir)

    app.command("matrix", help="Show which builds exist: per release, per variant, per platform.")(matrix_cli)


def matrix_cmd(torch: str | None = None, cuda: str | None = None, rocm: str | None = None, cpu: bool = False,
               python: str | None = None, platform: str | None = None, installer: str | None = None,
               json_out: bool = False, matrix_dir: str | None = None) -> None:
    from envgen.compile.query import Filters, build_rows, matching_builds, release_detail, summary
    from envgen.compile.selection import parse_accel, parse_installer
    from envgen.errors import Refusal
    from envgen.models import PyVer, check_platform, parse_version

    m = common.load(matrix_dir)
    accel = parse_accel(cuda, rocm, cpu)
    if isinstance(accel, str):  # parse_accel's only string is "auto"
        from envgen.errors import BadInput

        raise BadInput("envgen matrix takes a CUDA version, not auto", hint="use envgen detect for this machine")
    f = Filters(torch=parse_version(torch, "torch version") if torch else None, accel=accel,
                python=PyVer.parse(python) if python else None,
                platform=check_platform(platform) if platform else None, installer=parse_installer(installer))
    release = m.release(f.torch) if f.torch is not None else None
    if f.torch is not None and release is None:
        from envgen.compile.refusal import refuse
        from envgen.compile.stack import Request

        raise refuse(m, Request(torch=f.torch, platform=f.platform or "linux-64"))
    builds = matching_builds(m, f)
    if not builds:
        raise Refusal("no build matches these filters", hint="drop a filter, or run envgen matrix --torch V")
    if release is not None:
        data = release_detail(m, release, builds)
        return common.print_json(data) if json_out else _show_release(data)
    if f.accel is not None and f.accel.kind != "cpu":
        rows = build_rows(m, builds)
        return common.print_json(rows) if json_out else _show_rows(rows, f"builds for {f.accel.describe()}")
    rows = summary(m, builds)
    return common.print_json(rows) if json_out else _show_summary(rows)


def _show_release(d: dict[str, Any]) -> None:
    comp = ", ".join(f"{k} {v}" for k, v in d["companions"].items()) or "none"
    out: list[Grid | str] = [f"torch {d['torch']} ({d['date']}); companions: {comp}"]
    t = Grid("Builds", ("installer", "route", "variant", "platforms", "python"))
    for r in d["builds"]:
        t.add_row(r["installer"], r["route"] + ("" if r["official"] else " (unofficial)"), r["variant"],
                  " ".join(r["platforms"]), _pys(r["python"]))
    out.append(t)
    t = Grid("Variants", ("variant", "cuDNN", "driver min (linux / windows)", "architectures"))
    for v in d["variants"]:
        drv = v.get("driver_min")
        cudnn = v.get("cudnn") or {}
        t.add_row(v["variant"], ", ".join(f"{k}: {x}" if k != "default" else x for k, x in cudnn.items()) or "-",
                  f"{drv['linux']} / {drv['windows'] or '-'}" if drv else "-", " ".join(v.get("archs", [])) or "-")
    out.append(t)
    for role, per in d["pypi"]["gaps"].items():
        gaps = "; ".join(f"{plat} Python {_pys(pys)}" for plat, pys in per.items())
        out.append(f"PyPI has no {role} {d['companions'][role]} wheel for: {gaps}")
    for role, reason in d["pypi"]["yanked"].items():
        out.append(f"PyPI yanked {role} {d['companions'][role]}: {reason}")
    out += [f"note: {n}" for n in d["notes"]]
    show(out)


def _show_rows(rows: list[dict[str, Any]], title: str) -> None:
    t = Grid(title, ("torch", "installer", "route", "platforms", "python"))
    for r in rows:
        t.add_row(r["torch"], r["installer"], r["route"], " ".join(r["platforms"]), _pys(r["python"]))
    show([t])


def _show_summary(rows: list[dict[str, Any]]) -> None:
    t = Grid("Releases", ("torch", "date", "companions", "variants", "platforms"))
    for r in rows:
        t.add_row(r["torch"], r["date"], " ".join(f"{k[5:]} {v}" for k, v in r["companions"].items()),
                  " ".join(r["variants"]), " ".join(r["platforms"]))
    show([t])


def _pys(pys: list[str]) -> str:
    return f"{pys[0]}-{pys[-1]}" if len(pys) > 3 else " ".join(pys)
