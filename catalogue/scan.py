"""Scanning the audio roots into a new inventory: what is new, changed, unchanged or removed.

Files are re-hashed only when their size, modification time or status-change time (``ctime``,
which no program can set back) changed since the last scan; unchanged files keep their hash.

Hashing is budgeted per scan so that a huge new folder is taken in over several scans (the
sensor's ticks) instead of one long one: after ``time_budget_s`` no new file is started and the
file being hashed stops too, its SHA-256 state saved in the inventory (``hashed_bytes``,
``hash_state``) and resumed by the next scan (:mod:`catalogue.content_hash`), so even a file
that takes many ticks to read is hashed in the end. Each scan hashes new and changed files in
path order before it resumes a partly hashed one (one huge file cannot hold back the rest), and
the first file it touches always gets at least one chunk, so every scan makes progress.

When the content at a path changes (a file overwritten in place), the row of the old content
stays, with status ``removed`` and its old track id, beside the row of the new content: the old
track keeps its results and shows as removed, instead of vanishing from ``tracks``. Entries
under roots not scanned this time are carried over as they were.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from .content_hash import NotRegularFile, hash_file
from .folder_walk import Entry, find_entries, track_roles
from .inventory_schema import INVENTORY_SCHEMA, empty_inventory
from .path_names import printable
from .track_identity import TRACK_ID_HEX, path_track_id


@dataclass
class ScanResult:
    """A new inventory and what changed since the previous one."""

    inventory: pl.DataFrame
    hashed: int
    pending: int
    #: Storage folders found under the roots and left out (as shown).
    excluded: list[str] = field(default_factory=list)

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
    exclude: Iterable[Path] = (),
    now: datetime | None = None,
) -> ScanResult:
    """Scan ``roots`` and return the updated inventory.

    Parameters
    ----------
    roots : iterable of Path
        Folders to scan recursively.
    previous : polars.DataFrame, optional
        The last inventory; unchanged files (same size, mtime and ctime) keep their hash.
    max_hashes : int, optional
        Hash at most this many new or changed files; the rest stay ``pending``.
    time_budget_s : float, optional
        Seconds of hashing: no file is started after it, and a file being hashed stops at it
        (``pending``, resumed by the next scan); the first file a scan hashes always gets at
        least one chunk, so repeated scans always finish.
    exclude : iterable of Path
        Folders never descended into (the storage root); folders holding stemline storage
        are left out as well.
    now : datetime, optional
        Timestamp for ``first_seen``/``last_seen`` (UTC now by default).
    """
    now = now or datetime.now(UTC)
    roots = [Path(r) for r in roots]
    previous = previous if previous is not None else empty_inventory()
    current: dict[bytes, dict] = {}
    history: list[dict] = []
    for row in previous.iter_rows(named=True):
        if row["status"] == "removed":
            history.append(row)
        else:
            current[row["path_bytes"]] = row
    gone_before = {h["path_bytes"]: h for h in sorted(history, key=lambda h: h["last_seen"])}

    entries, skipped = find_entries(roots, exclude)
    roles = track_roles(entries)
    rows: list[dict] = []
    fresh: list[tuple[dict, Entry, dict | None]] = []
    partial: list[tuple[dict, Entry, dict | None]] = []
    for e in entries:
        raw = os.fsencode(e.path)
        old = current.get(raw) or gone_before.get(raw)
        role, mixture, ref_stem = roles[e.path]
        row = {
            "path": printable(e.path),
            "path_bytes": raw,
            "root": printable(e.root),
            "role": role,
            "mixture_path": mixture,
            "reference_stem": ref_stem,
            "size_bytes": e.size_bytes,
            "mtime_ns": e.mtime_ns,
            "ctime_ns": e.ctime_ns,
            "sha256": None,
            "track_id": None,
            "status": "present",
            "problem": e.problem,
            "hashed_bytes": None,
            "hash_state": None,
            "first_seen": old["first_seen"] if old is not None else now,
            "last_seen": now,
        }
        rows.append(row)
        if e.problem is not None:
            continue
        same = old is not None and _same_version(old, e)
        if same and old["sha256"] is not None:
            row["sha256"] = old["sha256"]
        elif same and old["hash_state"] is not None:
            partial.append((row, e, old))
        else:
            fresh.append((row, e, None))

    hashed = _hash_in_budget([*fresh, *partial], max_hashes, time_budget_s)
    for row in rows:
        if row["status"] != "pending":
            row["track_id"] = (
                row["sha256"][:TRACK_ID_HEX] if row["sha256"] else path_track_id(row["path_bytes"])
            )
        old = current.get(row["path_bytes"])
        if old is not None and old["track_id"] not in (None, row["track_id"]):
            # The content at this path changed: its old track stays, marked removed.
            history.append({**old, "status": "removed"})

    seen = {row["path_bytes"] for row in rows}
    scanned = {printable(str(r.absolute())) for r in roots}
    for raw, old in current.items():
        if raw in seen:
            continue
        # Entries under roots not scanned this time are carried over as they were.
        rows.append({**old, "status": "removed"} if old["root"] in scanned else old)
    rows += _distinct_history(history, rows, seen)
    inventory = pl.DataFrame(rows, schema=INVENTORY_SCHEMA) if rows else empty_inventory()
    pending = sum(1 for row in rows if row["status"] == "pending")
    return ScanResult(inventory.sort(["path", "last_seen"]), hashed, pending, skipped)


def _same_version(old: dict, e: Entry) -> bool:
    """Whether an entry is the version of the file ``old`` describes (same size, mtime and
    ctime)."""
    return (
        old["size_bytes"] == e.size_bytes
        and old["mtime_ns"] == e.mtime_ns
        and old["ctime_ns"] == e.ctime_ns
    )


def _hash_in_budget(
    todo: list[tuple[dict, Entry, dict | None]],
    max_hashes: int | None,
    time_budget_s: float | None,
) -> int:
    """Hash ``todo`` in order within the budget, filling each row; returns files hashed."""
    deadline = None if time_budget_s is None else time.monotonic() + time_budget_s
    hashed = 0
    started_any = False
    for row, e, old in todo:
        resume = (old["hashed_bytes"], old["hash_state"]) if old is not None else None
        out_of_time = deadline is not None and started_any and time.monotonic() >= deadline
        if (max_hashes is not None and hashed >= max_hashes) or out_of_time:
            _leave_pending(row, resume)
            continue
        first, started_any = not started_any, True
        try:
            progress = hash_file(
                e.path,
                deadline=deadline,
                resume=resume,
                at_least_one_chunk=first,
                expect=e.version,
            )
        except NotRegularFile as exc:  # replaced by a FIFO or device since the stat
            row["problem"] = str(exc)
            continue
        except OSError as exc:
            row["problem"] = f"cannot read: {exc.strerror or exc}"
            continue
        if progress.sha256 is not None:
            row["sha256"] = progress.sha256
            hashed += 1
        elif progress.changed:  # being written: hash it when it has settled
            _leave_pending(row, None)
        else:
            _leave_pending(row, (progress.hashed_bytes, progress.state) if progress.state else None)
    return hashed


def _leave_pending(row: dict, resume: tuple[int, str] | None) -> None:
    row["status"] = "pending"
    row["hashed_bytes"], row["hash_state"] = resume if resume else (None, None)


def _distinct_history(history: list[dict], rows: list[dict], seen: set[bytes]) -> list[dict]:
    """Removed rows of earlier contents, one per (path, track id), newest first, without
    those the current rows already stand for."""
    taken = {(row["path_bytes"], row["track_id"]) for row in rows}
    out = []
    for row in sorted(history, key=lambda h: h["last_seen"], reverse=True):
        key = (row["path_bytes"], row["track_id"])
        if key in taken or (row["track_id"] is None and row["path_bytes"] in seen):
            continue
        taken.add(key)
        out.append(row)
    return out
