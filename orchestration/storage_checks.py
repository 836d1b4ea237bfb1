"""Checks of the storage root before a run writes anything: a writable folder, a readable
inventory. Each failure is a :class:`StorageError` whose message is one line for the console.
"""

import os
import tempfile
from pathlib import Path

from catalogue.integrity import parquet_problem


class StorageError(Exception):
    """The storage root cannot be used: not a folder, not writable, or its inventory is
    damaged. The message is one line saying what and where, meant for the console."""


def check_storage(root: Path, what: str = "storage") -> Path:
    """Make sure ``root`` is (or can become) a writable folder, creating it; return it.

    ``what`` names the folder in messages (``storage``, or the option that gave it).

    Raises
    ------
    StorageError
        ``root`` or a folder above it is a file, or nothing can be written there (a read-only
        mount, no permission).
    """
    root = Path(root)
    existing = root
    while not existing.exists() and not existing.is_symlink() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == root else f" ({existing} is not a folder)"
        raise StorageError(f"{what} {root} is not a folder{where}")
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".stemline-write-test.", dir=root)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise StorageError(
            f"{what} {root} is not writable ({exc.strerror or exc}); give a writable folder"
        ) from exc
    return root


def check_inventory(path: Path) -> None:
    """Refuse a damaged inventory with a message saying which file and what to do."""
    problem = parquet_problem(path)
    if problem is not None and problem != "missing":
        raise StorageError(
            f"the inventory {path} is {problem}; delete it and run again to rescan the audio "
            "folders (processed tracks are kept: they are found again by their content)"
        )
