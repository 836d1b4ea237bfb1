"""Read-only SQL on the catalogue: whether a folder holds one, a query, and row counts.

This is the query path's front: :func:`catalogue_problem` says why a folder holds no catalogue,
:func:`run_query` runs one ``SELECT`` into a Polars frame and :func:`row_counts` counts every
stored table. Beneath it, :mod:`catalogue.read_only` refuses anything but one ``SELECT``,
:mod:`catalogue.sandbox` opens the sandboxed connection and :mod:`catalogue.connection` runs
and streams queries on it; :mod:`catalogue.catalogue_file` writes ``catalogue.duckdb``
(:func:`write_catalogue_file`, also importable from here) for DuckDB clients outside stemline.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb
import polars as pl

from .catalogue_file import write_catalogue_file
from .read_only import check_read_only
from .sandbox import open_catalogue
from .schema import STORED_TABLES
from .views import GATE, tables_read

__all__ = [
    "CATALOGUE_ENTRIES",
    "catalogue_problem",
    "row_counts",
    "run_query",
    "write_catalogue_file",
]

#: What a stemline storage root holds; a folder with none of these has no catalogue.
CATALOGUE_ENTRIES = ("inventory", "tracks", "stems", "features", "evaluation", "runs")


def catalogue_problem(root: Path) -> str | None:
    """Why ``root`` holds no stemline catalogue (it is missing, not a folder, or has none of
    stemline's folders), or None when it does."""
    root = Path(root)
    if not root.exists():
        return f"no stemline catalogue at {root}: no such folder"
    if not root.is_dir():
        return f"no stemline catalogue at {root}: not a folder"
    if not any((root / entry).is_dir() for entry in CATALOGUE_ENTRIES):
        return (
            f"no stemline catalogue at {root}: it has none of {', '.join(CATALOGUE_ENTRIES)} "
            "(run `stemline run` with this --storage first)"
        )
    return None


def run_query(root: Path, sql: str, skip_unreadable: bool = False) -> pl.DataFrame:
    """Run one read-only ``SELECT`` against the catalogue under ``root``.

    Raises :class:`~catalogue.read_only.QueryRefused`,
    :class:`~catalogue.connection.UnreadableFilesError` (unless ``skip_unreadable``) or
    DuckDB's own error."""
    return run_queries(root, [sql], skip_unreadable)[0]


def run_queries(
    root: Path, sqls: Sequence[str], skip_unreadable: bool = False
) -> list[pl.DataFrame]:
    """:func:`run_query` for several ``SELECT`` statements on one opening of the catalogue
    (opening it and defining its views is most of a small query's time)."""
    for sql in sqls:
        check_read_only(None, sql)
    read = [tables_read(sql) for sql in sqls]
    tables = None if any(t is None for t in read) else set().union(*read)  # None: every table
    with open_catalogue(root, skip_unreadable, tables) as catalogue:
        try:
            return [catalogue.con.sql(sql).pl() for sql in sqls]
        except duckdb.Error as exc:
            if GATE in str(exc):
                raise catalogue.failure(exc) from exc
            raise


def row_counts(root: Path) -> dict[str, int]:
    """Rows in every stored table, as the catalogue sees them."""
    with open_catalogue(root) as catalogue:
        try:
            return {
                t.name: int(catalogue.con.sql(f"SELECT count(*) FROM {t.name}").fetchall()[0][0])
                for t in STORED_TABLES
            }
        except duckdb.Error as exc:
            if GATE in str(exc):
                raise catalogue.failure(exc) from exc
            raise
