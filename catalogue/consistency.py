"""Whether ``catalogue.duckdb`` shows exactly the rows stored in the Parquet files.

Every view of the catalogue reads one stored table's Parquet files (:mod:`catalogue.schema`);
:func:`compare_row_counts` counts the rows each view returns and the rows its files hold, on a
stable snapshot: other runs may be writing partitions at the same time, so the counts are taken
again (up to :data:`STABLE_ATTEMPTS` times, a second apart) until no file changed while
counting. An unreadable Parquet file is named, and named first, since it explains its table's
mismatch.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from catalogue.integrity import parquet_problem
from catalogue.layout import StorageLayout
from catalogue.schema import STORED_TABLES

#: Counting attempts before concurrent writers are reported instead of a comparison.
STABLE_ATTEMPTS = 10


@dataclass(frozen=True)
class RowCounts:
    """The catalogue's row counts against its Parquet files'.

    Attributes
    ----------
    seen : dict[str, int | None]
        Rows each stored table's view returns (None where the view fails).
    stored : dict[str, int]
        Rows each stored table's readable Parquet files hold.
    unreadable : list[str]
        ``"<path> is <why>"`` for each Parquet file that cannot be read.
    """

    seen: dict[str, int | None]
    stored: dict[str, int]
    unreadable: list[str]

    @property
    def mismatched(self) -> dict[str, tuple[int | None, int]]:
        """Table -> (rows the view returns, rows stored) where the two differ."""
        return {k: (self.seen[k], n) for k, n in self.stored.items() if self.seen[k] != n}

    @property
    def problems(self) -> list[str]:
        """One line per unreadable file, then per mismatched table (empty when they agree)."""
        shown = [
            f"{k}: the catalogue shows {'no' if n is None else n} rows"
            f"{' (its view fails)' if n is None else ''}, its Parquet files hold {m}"
            for k, (n, m) in self.mismatched.items()
        ]
        return self.unreadable + shown


def _snapshot(layout: StorageLayout) -> dict[str, tuple[int, int]]:
    """Every catalogue Parquet file with its mtime and size."""
    snap = {}
    for table in STORED_TABLES:
        for f in glob.glob(layout.glob(table.glob)):
            try:
                st = os.stat(f)
            except FileNotFoundError:  # replaced or removed while listing
                continue
            snap[f] = (st.st_mtime_ns, st.st_size)
    return snap


def stored_rows(layout: StorageLayout) -> tuple[dict[str, int], list[str]]:
    """Rows in each stored table's Parquet files, and each file that cannot be read, as
    ``"<path> is unreadable (<why>)"`` (or the damage :func:`parquet_problem` names)."""
    rows, unreadable = {}, []
    for table in STORED_TABLES:
        rows[table.name] = 0
        for f in sorted(glob.glob(layout.glob(table.glob))):
            try:
                rows[table.name] += pl.scan_parquet(f).select(pl.len()).collect().item()
            except (OSError, pl.exceptions.PolarsError) as exc:
                why = parquet_problem(Path(f)) or f"unreadable ({' '.join(str(exc).split())})"
                unreadable.append(f"{f} is {why}")
    return rows, unreadable


def catalogue_rows(path: Path) -> dict[str, int | None]:
    """Rows each stored table's view in the catalogue file ``path`` returns (None where the
    view fails). Read from a private copy: no lock on the file, and DuckDB cannot open a path
    with a ``?``."""
    import duckdb  # here: the asset check module loads with the definitions, DuckDB need not

    with tempfile.TemporaryDirectory(prefix="stemline-check-") as work:
        copy = Path(work) / "catalogue.duckdb"
        shutil.copyfile(path, copy)
        con = duckdb.connect(str(copy), read_only=True)
        try:
            rows: dict[str, int | None] = {}
            for table in STORED_TABLES:
                count = f"SELECT count(*) FROM {table.name}"
                try:
                    rows[table.name] = con.execute(count).fetchone()[0]
                except duckdb.Error:
                    rows[table.name] = None
            return rows
        finally:
            con.close()


def compare_row_counts(
    layout: StorageLayout, attempts: int = STABLE_ATTEMPTS, pause_s: float = 1.0
) -> RowCounts | None:
    """The catalogue's and the Parquet files' row counts, taken while no file changed; None if
    files kept changing during ``attempts`` attempts ``pause_s`` apart (concurrent writers).

    ``layout.catalogue`` must exist."""
    for _ in range(attempts):
        before = _snapshot(layout)
        seen = catalogue_rows(layout.catalogue)
        stored, unreadable = stored_rows(layout)
        if _snapshot(layout) == before:
            return RowCounts(seen, stored, unreadable)
        time.sleep(pause_s)
    return None
