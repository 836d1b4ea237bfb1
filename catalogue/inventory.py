"""The inventory of input files: which audio exists under the roots, and its content hash.

The inventory (``inventory/files.parquet``, columns in :mod:`catalogue.inventory_schema`) maps
every audio path seen to the track its bytes name. :func:`update_inventory` scans the roots
against the stored inventory (:mod:`catalogue.scan`, which finds entries with
:mod:`catalogue.folder_walk`) and stores the result under a lock, one scanner at a time;
:func:`read_inventory` reads it back; :func:`track_file` picks the file a track is read from.

A track's identity (its content hash, and the checks that an input still has it) is
:mod:`catalogue.track_identity`; how paths are stored and shown is :mod:`catalogue.path_names`.
The names of both that the pipeline uses are importable from here as well.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from atomicfile import exclusive_lock

from .inventory_schema import INVENTORY_SCHEMA, empty_inventory
from .layout import write_parquet
from .path_names import printable, real_path
from .scan import ScanResult, scan
from .track_identity import (
    TRACK_ID_HEX,
    InputChanged,
    check_unchanged,
    discard_if_changed,
    regular_file_problem,
)

__all__ = [
    "INVENTORY_SCHEMA",
    "TRACK_ID_HEX",
    "InputChanged",
    "ScanResult",
    "TrackFile",
    "check_unchanged",
    "discard_if_changed",
    "empty_inventory",
    "printable",
    "read_inventory",
    "real_path",
    "regular_file_problem",
    "scan",
    "track_file",
    "update_inventory",
]


@dataclass(frozen=True)
class TrackFile:
    """The file a track is read from.

    Attributes
    ----------
    entry : dict
        Its inventory row.
    source : str
        The name to open (as :func:`os.fsdecode` gives it; exact bytes for a name that is not
        UTF-8).
    copies : int
        How many files not removed hold the track's content (identical copies are one track).
    """

    entry: dict
    source: str
    copies: int


def track_file(inventory: pl.DataFrame, track_id: str) -> TrackFile | None:
    """The file to read track ``track_id`` from: the first by path of its files that are not
    removed; None when it has none."""
    rows = inventory.filter(
        (pl.col("track_id") == track_id)
        & (pl.col("role") == "track")
        & (pl.col("status") != "removed")
    ).sort("path")
    if rows.is_empty():
        return None
    entry = rows.row(0, named=True)
    raw = entry["path_bytes"]
    return TrackFile(entry, os.fsdecode(raw) if raw is not None else entry["path"], rows.height)


def read_inventory(path: Path) -> pl.DataFrame:
    """The stored inventory, or an empty one."""
    return pl.read_parquet(path) if path.is_file() else empty_inventory()


def update_inventory(
    path: Path, roots: Iterable[Path], *, exclude: Iterable[Path] = (), **budget
) -> ScanResult:
    """Scan ``roots`` against the stored inventory and store the result, under the lock.

    ``exclude`` (the storage root) is never scanned; ``budget`` is ``max_hashes`` and
    ``time_budget_s`` of :func:`scan`."""

    # One scanner at a time (the sensor and `stemline run`, or two runs), so none of them
    # loses the others' entries.
    with exclusive_lock(path.with_name(path.name + ".lock")):
        result = scan(roots, read_inventory(path), exclude=exclude, **budget)
        write_parquet(result.inventory, path)
    return result
