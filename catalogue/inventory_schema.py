"""The inventory's table: one row per audio-named entry found under the audio roots.

Columns: ``path`` (absolute, as text; :mod:`catalogue.path_names`), ``path_bytes`` (its exact
bytes), ``root``, ``role`` (``track`` / ``reference``), ``mixture_path`` (for references),
``reference_stem`` (the reference's stem name), ``size_bytes``, ``mtime_ns``, ``ctime_ns``,
``sha256``, ``track_id`` (:mod:`catalogue.track_identity`), ``status`` (``present`` /
``pending`` (not hashed yet) / ``removed``), ``problem`` (why it cannot be read, or null),
``hashed_bytes`` and ``hash_state`` (progress of a partly hashed file), ``first_seen``,
``last_seen`` (UTC). It is stored as ``inventory/files.parquet`` and is the ``files`` view of
the catalogue (:mod:`catalogue.schema`).
"""

from __future__ import annotations

import polars as pl

INVENTORY_SCHEMA = {
    "path": pl.String,
    "path_bytes": pl.Binary,
    "root": pl.String,
    "role": pl.String,
    "mixture_path": pl.String,
    "reference_stem": pl.String,
    "size_bytes": pl.Int64,
    "mtime_ns": pl.Int64,
    "ctime_ns": pl.Int64,
    "sha256": pl.String,
    "track_id": pl.String,
    "status": pl.String,
    "problem": pl.String,
    "hashed_bytes": pl.Int64,
    "hash_state": pl.String,
    "first_seen": pl.Datetime("us", "UTC"),
    "last_seen": pl.Datetime("us", "UTC"),
}


def empty_inventory() -> pl.DataFrame:
    """An inventory with no rows."""
    return pl.DataFrame(schema=INVENTORY_SCHEMA)
