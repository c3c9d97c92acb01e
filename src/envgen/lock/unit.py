"""Writing a lock set as a unit, so a folder never holds old and new lockfiles mixed.

1. Take an exclusive lock on the output folder (`flock` on the folder itself: no lock file is left in a
   repository); a second `envgen lock` on the same folder waits for the first.
2. Finish or discard what an earlier, killed run left (`.envgen-stage-*`): a stage with its COMMIT marker is
   swapped in (the run had finished writing), one without is removed.
3. Write every file into a new stage folder beside the target (same file system), each flushed to disk, then
   the COMMIT marker naming them.
4. Swap: `os.replace` each file into place with SIGINT and SIGTERM held back (they take effect after the swap),
   then remove the stage. A kill that cannot be held back (SIGKILL, power loss) leaves a committed stage, which step 2
   of the next run completes, and which `envgen lock --check` and every reader report meanwhile; the
   `lock-set` line in each file (`envgen.lock.integrity`) catches a mixed folder in any case.

An interruption before the swap (Ctrl-C, SIGTERM, a full disk) removes the stage and leaves the old lock as it was.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from envgen.errors import OutsideFailure
from envgen.fileio import mode_for
from envgen.lock.read import STAGE_PREFIX

COMMIT = "COMMIT"


def write_set(files: dict[str, str], outdir: Path) -> list[Path]:
    outdir = Path(outdir)
    try:
        outdir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutsideFailure(f"cannot create {outdir}: {exc.strerror or exc}",
                             hint="check that the folder can be created and written") from exc
    with _terminate_raises(), folder_lock(outdir):
        recover(outdir)
        stage = _stage(files, outdir)
        with _signals_held():
            for name in files:
                os.replace(stage / name, outdir / name)
            shutil.rmtree(stage, ignore_errors=True)
    return [outdir / name for name in files]


@contextlib.contextmanager
def _terminate_raises() -> Iterator[None]:
    """SIGTERM (a CI job cancelled, `kill`) ends the run through Python, so the stage is cleaned up as on Ctrl-C."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    old = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _stage(files: dict[str, str], outdir: Path) -> Path:
    try:
        stage = Path(tempfile.mkdtemp(prefix=STAGE_PREFIX, dir=outdir))
    except OSError as exc:
        raise OutsideFailure(f"cannot write in {outdir}: {exc.strerror or exc}",
                             hint="check that the folder is writable") from exc
    try:
        for name, text in files.items():
            _write(stage / name, text.encode("utf-8"), mode_for(outdir / name))
        _write(stage / COMMIT, json.dumps(sorted(files)).encode(), 0o644)
    except BaseException as exc:  # nothing reached its place: the old lock stays whole
        shutil.rmtree(stage, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutsideFailure(f"cannot write the lock into {outdir}: {exc.strerror or exc}",
                                 hint="free some disk space or check permissions; the previous lock is unchanged"
                                 ) from exc
        raise
    return stage


def _write(path: Path, raw: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(raw)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(path, mode)  # the umask of os.open must not narrow the old file's mode


def recover(outdir: Path) -> None:
    """Complete a committed stage an earlier run left (it had finished writing); remove an uncommitted one."""
    for stage in sorted(outdir.glob(STAGE_PREFIX + "*")):
        if not stage.is_dir():
            continue
        marker = stage / COMMIT
        names: list[str] = []
        if marker.is_file():
            try:
                loaded = json.loads(marker.read_text(encoding="utf-8"))
                names = [n for n in loaded if isinstance(n, str) and Path(n).name == n] if isinstance(loaded, list) \
                    else []
            except (OSError, ValueError):
                names = []
        for name in names:
            if (stage / name).is_file():
                os.replace(stage / name, outdir / name)
        shutil.rmtree(stage, ignore_errors=True)


@contextlib.contextmanager
def folder_lock(outdir: Path) -> Iterator[None]:
    """An exclusive lock on the folder for the duration (POSIX `flock`; elsewhere no lock)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: the stage and lock-set lines still protect the set
        yield
        return
    fd = os.open(outdir, os.O_RDONLY)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            sys.stderr.write(f"waiting for another envgen writing to {outdir}\n")
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


@contextlib.contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait until the block ends, then take effect.

    Held at Python's level: a signal may arrive on any OS thread (py-rattler and requests run their own), but
    Python runs its handlers in the main thread, so replacing them there holds every signal back."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []

    def _hold(signum: int, frame: object) -> None:
        pending.append(signum)

    old = {sig: signal.signal(sig, _hold) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)
        if pending:
            signal.raise_signal(pending[0])
