"""Atomic file replacement, and cleanup of what a killed writer leaves behind.

A low-level package of the standard library only, below every stemline library: the stem
writer (:mod:`separation.output`), the catalogue's Parquet files, the transcription exports and
the run lock all write through it, and none of them has to import another library for it.

A file is written under a hidden temporary name in its destination folder and renamed onto the
destination only when complete, so readers see the old file or the new one, never half a file.
Temporary names carry the writer's process id (``.<name>.<pid>.<random>.tmp``); when a writer
is killed (SIGKILL, power loss) its temporary file stays, and the next writer of the same
destination removes every such leftover whose process no longer runs on this machine.
"""

from __future__ import annotations

import fcntl
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temporary_name(target: Path, suffix: str = TEMP_SUFFIX) -> Path:
    """A unique hidden temporary path beside ``target``, naming this process."""
    return target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}{suffix}")


def process_alive(pid: int) -> bool:
    """Whether a process with this id runs on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sweep_leftovers(target: Path, suffix: str = TEMP_SUFFIX) -> list[Path]:
    """Delete temporary files of ``target`` left by writers that are no longer running."""
    pattern = re.compile(rf"^\.{re.escape(target.name)}\.(\d+)\.[0-9a-f]+{re.escape(suffix)}$")
    removed = []
    if not target.parent.is_dir():
        return removed
    for entry in target.parent.iterdir():
        m = pattern.match(entry.name)
        if m and int(m.group(1)) != os.getpid() and not process_alive(int(m.group(1))):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


@contextmanager
def atomic_path(target: Path, suffix: str = TEMP_SUFFIX) -> Iterator[Path]:
    """Yield a temporary path to write; rename it onto ``target`` when the block succeeds.

    The destination folder is created; leftovers of killed writers of ``target`` are removed.
    Writers that infer a format from the extension must be told it explicitly.

    Examples
    --------
    >>> with atomic_path(Path("out.txt")) as tmp:  # doctest: +SKIP
    ...     tmp.write_text("done")
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    sweep_leftovers(target, suffix)
    tmp = temporary_name(target, suffix)
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_bytes(target: Path, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically and return ``target``."""
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


@contextmanager
def exclusive_lock(lock_file: Path) -> Iterator[None]:
    """Hold an exclusive advisory lock on ``lock_file`` (created if missing) for the block;
    other processes on this machine wait for it."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
