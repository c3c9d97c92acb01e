"""Shared, built-once test world for the lock tests: real channels + wheel index, served on 127.0.0.1.

Built once per test session (cached at module level, so every test module shares one build and one server),
in a temporary folder removed at exit. `mirrors(url)` maps the real channel and index hosts onto the server.
"""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

from tests.support.channels import build_channels
from tests.support.server import Served, serve
from tests.support.wheels import build_index


@functools.cache
def world() -> Path:
    root = Path(tempfile.mkdtemp(prefix="envgen-lock-world-"))
    atexit.register(shutil.rmtree, root, True)
    build_channels(root / "conda")
    build_index(root)
    return root


@functools.cache
def server() -> Served:
    served = serve(world())
    atexit.register(served.stop)
    return served


def mirror_pairs(base: str) -> list[str]:
    """FROM=TO pairs that send the real hosts to `base` (the test server, or a dead port)."""
    return [f"https://conda.anaconda.org={base}/conda", f"https://repo.anaconda.com/pkgs/main={base}/conda/pkgs-main",
            f"https://pypi.org={base}/pypi", f"https://download.pytorch.org={base}"]


def file_pairs() -> list[str]:
    root = world().as_uri()
    return [f"https://conda.anaconda.org={root}/conda", f"https://repo.anaconda.com/pkgs/main={root}/conda/pkgs-main"]


def sharded_world(root: Path) -> Path:
    """A copy of the world's channels under root/conda, re-indexed by rattler's indexer with repodata.json.zst and
    CEP-16 shards (serve `root`, as the world is served)."""
    import asyncio

    from rattler.index import index_fs

    shutil.copytree(world() / "conda", root / "conda", symlinks=True)

    async def _index() -> None:
        for channel in sorted(p for p in (root / "conda").iterdir() if p.is_dir() and not p.is_symlink()):
            await index_fs(channel, write_zst=True, write_shards=True, force=True)

    asyncio.run(_index())
    return root
