"""Atomic file replacement: write to a temporary name beside the target, then rename.

A reader (another Dagster step, a training job) sees either the old file or the complete
new one, never a half-written file: the temporary file lives in the target's own folder,
so the final :func:`os.replace` is a rename on one file system. On any error the
temporary file is removed and the target is left as it was.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".tmp"


def temporary_name(target: Path) -> Path:
    """A unique hidden temporary path in the folder of ``target``.

    The name ends in ``.tmp`` so leftovers of a killed process are easy to recognise.
    """
    return target.with_name(f".{target.name}.{uuid.uuid4().hex[:12]}{TEMP_SUFFIX}")


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path to write; rename it onto ``target`` when the block succeeds.

    Parameters
    ----------
    target : pathlib.Path
        Final file path. Its folder must exist.

    Yields
    ------
    pathlib.Path
        Where the caller writes the complete file. Writers that infer a format from the
        extension must be told the format explicitly (the name ends in ``.tmp``).

    Examples
    --------
    >>> with atomic_path(Path("out.txt")) as tmp:  # doctest: +SKIP
    ...     tmp.write_text("done")
    """
    tmp = temporary_name(target)
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
