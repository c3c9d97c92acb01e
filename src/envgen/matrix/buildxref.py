"""Cross-reference checks of matrices/build.yaml after parsing: sources exist, every era CUDA has a host-compiler
row, arch lists name the era's CUDA versions, Visual Studio years exist, no release sits in two eras."""

from __future__ import annotations

from packaging.version import Version

from envgen.matrix.buildrecords import BuildMatrix, SourceEra

FILE = "build.yaml"
WHERE = f"matrices/{FILE}"


def check(m: BuildMatrix) -> list[str]:
    out: list[str] = []
    for vs in m.visual_studio:
        out += _cite(m, vs.sources, f"visual_studio({vs.year})")
    for d in m.vs_defects:
        out += _cite(m, d.sources, f"vs_defects({d.id})")
    for key, h in m.host_compilers.items():
        out += _cite(m, h.sources, f"host_compilers(cuda {key})")
    for key, p in m.magma_conda.items():
        out += _cite(m, p.sources, f"magma.conda(cuda {key})")
    for a in m.magma_windows:
        out += _cite(m, a.sources, f"magma.windows({a.torch})")
    for plat, lay in m.layouts.items():
        out += _cite(m, lay.sources, f"layout.{plat}")
    seen: dict[Version, str] = {}
    for era in m.releases:
        out += _era(m, era, seen)
    return out


def _cite(m: BuildMatrix, ids: tuple[str, ...], place: str) -> list[str]:
    out = [f"{WHERE}: {place}: no source given (every row cites one)"] if not ids else []
    return out + [f"{WHERE}: {place}: unknown source '{s}' (add it to matrices/sources.yaml)"
                  for s in ids if s not in m.sources]


def _era(m: BuildMatrix, era: SourceEra, seen: dict[Version, str]) -> list[str]:
    place = f"releases(era {era.era})"
    out = _cite(m, era.sources, place)
    for v in list(era.versions) + [v for v in m.binaries if era.torch is not None and era.covers(v)]:
        if v in seen and seen[v] != era.era:
            out.append(f"{WHERE}: {place}: torch {v} is also in era {seen[v]}")
        seen[v] = era.era
    for plat, cudas in era.cuda.items():
        out.extend(f"{WHERE}: {place}.cuda.{plat}: CUDA {c} has no host_compilers row"
                   for c in cudas if m.host(c) is None)
    covered = [v for v in m.binaries if era.covers(v)] if not era.cuda else []
    all_cuda = {f"{c.major}.{c.minor}" for cs in era.cuda.values() for c in cs}
    all_cuda |= {f"{c.major}.{c.minor}" for v in covered for cs in m.binaries[v].cuda.values() for c in cs}
    for plat, table in era.arch_list.items():
        out.extend(f"{WHERE}: {place}.arch_list.{plat}: CUDA {c} is not one of the era's CUDA versions"
                   for c in table if c not in all_cuda)
    years = {vs.year for vs in m.visual_studio}
    for y in era.vs_cpu + era.vs_cuda + tuple(y for ys in era.vs_host.values() for y in ys):
        if y not in years:
            out.append(f"{WHERE}: {place}.visual_studio: unknown Visual Studio {y} (not in visual_studio)")
    return out


def unbuildable(m: BuildMatrix, platforms: tuple[str, ...] = ("linux-64", "win-64")) -> list[str]:
    """Releases of the binary matrix that build-env cannot answer: no era, or a CUDA without a host-compiler row.

    Not part of loading (torch.yaml grows on its own); the tests and `matrix check` style callers use it."""
    out = []
    for torch in sorted(m.binaries):
        if torch < Version("0.3"):
            continue
        era = m.era_for(torch)
        if era is None:
            out.append(f"torch {torch}: no era in {WHERE} covers it")
            continue
        for plat in platforms:
            if plat in era.refuse:
                continue
            if not m.pythons(era, torch, plat):
                out.append(f"torch {torch} on {plat}: no Python range (era {era.era})")
            out.extend(f"torch {torch} on {plat}: CUDA {c} has no host_compilers row"
                       for c in m.cudas(era, torch, plat) if m.host(c) is None)
    return out


__all__ = ["check", "unbuildable"]
