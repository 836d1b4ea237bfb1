"""The inventory of input files: which audio exists under the roots, and its content hash.

A track is identified by the sha256 of its bytes; its id is the first 16 hex digits. So a
renamed or duplicated file maps to the same track and costs nothing, and a file whose bytes
change becomes a new track. Files are re-hashed only when their size or modification time
changed since the last scan; hashing is budgeted per scan so that a huge new folder is taken in
over several scans (the sensor's ticks) instead of one long one.

Folders in MUSDB18 layout (a ``mixture.<ext>`` beside other audio files) hold one track, the
mixture; its sibling files are its reference stems (``role = "reference"``), not tracks.
Entries that cannot be tracks (a dangling link, a directory named like audio, an unreadable
file) still get an inventory row and a track id derived from their path, so the pipeline can
record their error.

Inventory columns: ``path`` (absolute), ``root``, ``role`` (``track`` / ``reference``),
``mixture_path`` (for references), ``reference_stem`` (the reference's stem name),
``size_bytes``, ``mtime_ns``, ``sha256``, ``track_id``, ``status`` (``present`` / ``pending``
(not hashed yet) / ``removed``), ``problem`` (why it cannot be read, or null), ``first_seen``,
``last_seen`` (UTC).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from .atomic import exclusive_lock
from .layout import write_parquet

AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif"})
MIXTURE_STEM = "mixture"
TRACK_ID_HEX = 16

INVENTORY_SCHEMA = {
    "path": pl.String,
    "root": pl.String,
    "role": pl.String,
    "mixture_path": pl.String,
    "reference_stem": pl.String,
    "size_bytes": pl.Int64,
    "mtime_ns": pl.Int64,
    "sha256": pl.String,
    "track_id": pl.String,
    "status": pl.String,
    "problem": pl.String,
    "first_seen": pl.Datetime("us", "UTC"),
    "last_seen": pl.Datetime("us", "UTC"),
}


def empty_inventory() -> pl.DataFrame:
    """An inventory with no rows."""
    return pl.DataFrame(schema=INVENTORY_SCHEMA)


def file_sha256(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def path_track_id(path: str) -> str:
    """Track id of an entry whose content cannot be read (derived from its path)."""
    return hashlib.sha256(f"path:{path}".encode()).hexdigest()[:TRACK_ID_HEX]


@dataclass(frozen=True)
class Entry:
    """One audio-named entry found under a root."""

    path: str
    root: str
    size_bytes: int | None
    mtime_ns: int | None
    problem: str | None


def walk(roots: Iterable[Path]) -> list[Entry]:
    """Every audio-named entry under ``roots`` (recursive, links not followed into folders)."""
    entries: list[Entry] = []
    for root in roots:
        root_abs = Path(root).absolute()
        if not root_abs.is_dir():
            continue
        for dirpath, dirnames, filenames in os.walk(root_abs):
            dirnames.sort()
            for name in sorted(filenames) + [d for d in dirnames if _is_audio_name(d)]:
                if not _is_audio_name(name):
                    continue
                path = os.path.join(dirpath, name)
                entries.append(_entry(path, str(root_abs)))
    return entries


def _is_audio_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS and not name.startswith(".")


def _entry(path: str, root: str) -> Entry:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Entry(path, root, None, None, "dangling link or vanished file")
    except OSError as exc:
        return Entry(path, root, None, None, f"cannot stat: {exc.strerror}")
    if os.path.isdir(path):
        return Entry(path, root, None, st.st_mtime_ns, "is a directory, not an audio file")
    if not os.access(path, os.R_OK):
        return Entry(path, root, st.st_size, st.st_mtime_ns, "file is not readable")
    return Entry(path, root, st.st_size, st.st_mtime_ns, None)


def _roles(entries: list[Entry]) -> dict[str, tuple[str, str | None, str | None]]:
    """``path -> (role, mixture_path, reference_stem)`` with MUSDB18 folders recognised."""
    by_dir: dict[str, list[Entry]] = {}
    for e in entries:
        by_dir.setdefault(os.path.dirname(e.path), []).append(e)
    roles: dict[str, tuple[str, str | None, str | None]] = {}
    for files in by_dir.values():
        mixtures = [
            e
            for e in files
            if os.path.splitext(os.path.basename(e.path))[0].lower() == MIXTURE_STEM
            and e.problem is None
        ]
        mixture = mixtures[0].path if len(mixtures) == 1 else None
        for e in files:
            if mixture is not None and e.path != mixture and e.problem is None:
                stem = os.path.splitext(os.path.basename(e.path))[0]
                roles[e.path] = ("reference", mixture, stem)
            else:
                roles[e.path] = ("track", None, None)
    return roles


@dataclass
class ScanResult:
    """A new inventory and what changed since the previous one."""

    inventory: pl.DataFrame
    hashed: int
    pending: int

    def present_tracks(self) -> pl.DataFrame:
        """One row per present track id with its first path (sorted), for run requests."""
        tracks = self.inventory.filter(
            (pl.col("role") == "track") & (pl.col("status") == "present")
        )
        return tracks.sort("path").group_by("track_id", maintain_order=True).first()


def scan(
    roots: Iterable[Path],
    previous: pl.DataFrame | None = None,
    *,
    max_hashes: int | None = None,
    time_budget_s: float | None = None,
    now: datetime | None = None,
) -> ScanResult:
    """Scan ``roots`` and return the updated inventory.

    Parameters
    ----------
    roots : iterable of Path
        Folders to scan recursively.
    previous : polars.DataFrame, optional
        The last inventory; unchanged files (same size and mtime) keep their hash.
    max_hashes, time_budget_s : optional
        Stop hashing new or changed files after this many, or this many seconds; the rest stay
        ``pending`` for the next scan.
    now : datetime, optional
        Timestamp for ``first_seen``/``last_seen`` (UTC now by default).
    """
    now = now or datetime.now(UTC)
    roots = [Path(r) for r in roots]
    previous = previous if previous is not None else empty_inventory()
    known = {row["path"]: row for row in previous.iter_rows(named=True)}
    entries = walk(roots)
    roles = _roles(entries)
    started = time.monotonic()
    hashed = pending = 0
    rows = []
    seen: set[str] = set()
    for e in entries:
        seen.add(e.path)
        old = known.get(e.path)
        role, mixture, ref_stem = roles[e.path]
        sha = None
        problem = e.problem
        status = "present"
        if problem is None:
            unchanged = (
                old is not None
                and old["sha256"] is not None
                and old["size_bytes"] == e.size_bytes
                and old["mtime_ns"] == e.mtime_ns
            )
            if unchanged:
                sha = old["sha256"]
            elif _within_budget(hashed, max_hashes, started, time_budget_s):
                try:
                    sha = file_sha256(Path(e.path))
                    hashed += 1
                except OSError as exc:
                    problem = f"cannot read: {exc.strerror or exc}"
            else:
                status = "pending"
                pending += 1
        track_id = sha[:TRACK_ID_HEX] if sha else path_track_id(e.path)
        rows.append(
            {
                "path": e.path,
                "root": e.root,
                "role": role,
                "mixture_path": mixture,
                "reference_stem": ref_stem,
                "size_bytes": e.size_bytes,
                "mtime_ns": e.mtime_ns,
                "sha256": sha,
                "track_id": track_id if status != "pending" else None,
                "status": status,
                "problem": problem,
                "first_seen": old["first_seen"] if old is not None else now,
                "last_seen": now,
            }
        )
    scanned = {str(Path(r).absolute()) for r in roots}
    for path, old in known.items():
        if path in seen:
            continue
        # Entries under roots not scanned this time are carried over as they were.
        gone = old["root"] in scanned and old["status"] != "removed"
        rows.append({**old, "status": "removed"} if gone else old)
    inventory = pl.DataFrame(rows, schema=INVENTORY_SCHEMA) if rows else empty_inventory()
    return ScanResult(inventory.sort("path"), hashed, pending)


def _within_budget(done: int, max_hashes: int | None, started: float, budget: float | None) -> bool:
    if max_hashes is not None and done >= max_hashes:
        return False
    return budget is None or time.monotonic() - started < budget


def read_inventory(path: Path) -> pl.DataFrame:
    """The stored inventory, or an empty one."""
    return pl.read_parquet(path) if path.is_file() else empty_inventory()


def update_inventory(path: Path, roots: Iterable[Path], **budget) -> ScanResult:
    """Scan ``roots`` against the stored inventory and store the result, under the lock."""

    # One scanner at a time (the sensor and `stemline run`, or two runs), so none of them
    # loses the others' entries.
    with exclusive_lock(path.with_name(path.name + ".lock")):
        result = scan(roots, read_inventory(path), **budget)
        write_parquet(result.inventory, path)
    return result
