"""Open the catalogue and run read-only SQL on it.

:func:`connect` builds an in-memory DuckDB connection whose views (:mod:`catalogue.schema`)
read the current Parquet files, so a query always sees every finished partition and never takes
a lock that a running pipeline would need. The connection is sandboxed: only the storage root
can be read, nothing can be written, and the configuration is locked. :func:`run_query`
additionally accepts only ``SELECT`` statements, and refuses anything else (``DROP``,
``DELETE``, ``INSERT``, ``COPY ... TO``, ``ATTACH``, ``INSTALL``/``LOAD``, ``SET``, ...) with a
message saying so.

:func:`write_catalogue_file` writes ``catalogue.duckdb`` with the same views (absolute paths)
for DuckDB clients outside stemline, replacing the file atomically.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import duckdb
import polars as pl

from .layout import StorageLayout, atomic_path
from .schema import DERIVED_VIEWS, STORED_TABLES

ALLOWED_STATEMENTS = {"SELECT"}


class QueryRefused(ValueError):
    """The SQL is not a read-only query."""


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _missing_columns(con: duckdb.DuckDBPyConnection, source: str) -> str:
    """Typed NULL columns for what the schema has and every file under ``source`` lacks.

    Files written by an older stemline lack columns added since; the view still has them
    (null until those tracks are re-materialised), so queries written for today's schema run.
    """
    present = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    wanted = con.execute("DESCRIBE SELECT * FROM _empty_table").fetchall()
    return "".join(
        f", CAST(NULL AS {sql_type}) AS {name}"
        for name, sql_type, *_ in wanted
        if name not in present
    )


def _one_schema(con: duckdb.DuckDBPyConnection, pattern: str) -> bool:
    """Whether every Parquet file under ``pattern`` has the same columns and types."""
    signatures = con.execute(
        "SELECT count(DISTINCT signature) FROM ("
        "  SELECT file_name, string_agg(name || ':' || coalesce(type, '') || ':' ||"
        "    coalesce(logical_type::VARCHAR, ''), ',' ORDER BY name) AS signature"
        f"  FROM parquet_schema({_sql_string(pattern)}) GROUP BY file_name)"
    ).fetchone()
    return signatures is not None and signatures[0] == 1


def _define_views(
    con: duckdb.DuckDBPyConnection, layout: StorageLayout, snapshot: bool = False
) -> dict[str, int]:
    """Create every view; returns the number of Parquet files behind each stored table.

    The views read their files by column name (``union_by_name``), so files written by older
    versions with fewer columns still read. With ``snapshot`` (a short-lived connection over
    files as they are now) a table whose files all share one schema is read without it, which
    halves the time of queries over thousands of small files."""
    counts: dict[str, int] = {}
    for table in STORED_TABLES:
        pattern = layout.glob(table.glob)
        files = glob.glob(pattern)
        counts[table.name] = len(files)
        con.register("_empty_table", pl.DataFrame(schema=table.schema).to_arrow())
        if files:
            by_name = "" if snapshot and _one_schema(con, pattern) else ", union_by_name = true"
            source = f"read_parquet({_sql_string(pattern)}{by_name})"
            missing = _missing_columns(con, source)
            con.execute(
                f"CREATE OR REPLACE VIEW {table.name} AS SELECT {table.select}{missing} "
                f"FROM {source}"
            )
        else:
            con.execute(
                f"CREATE OR REPLACE TABLE {table.name} AS SELECT {table.select} FROM _empty_table"
            )
        con.unregister("_empty_table")
    for name, sql in DERIVED_VIEWS.items():
        con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    return counts


def connect(root: Path) -> duckdb.DuckDBPyConnection:
    """A sandboxed in-memory connection with the catalogue views over ``root``."""
    layout = StorageLayout(Path(root))
    con = duckdb.connect(":memory:")
    # Keep Parquet footers once read: the views read every file's schema when they are defined,
    # and each query would otherwise read those thousands of footers again.
    con.execute("SET parquet_metadata_cache = true")
    _define_views(con, layout, snapshot=True)
    root_dir = str(layout.root.resolve())
    con.execute(f"SET allowed_directories = [{_sql_string(root_dir)}]")
    con.execute("SET enable_external_access = false")
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET lock_configuration = true")
    return con


def check_read_only(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """Raise :class:`QueryRefused` unless every statement in ``sql`` is a ``SELECT``."""
    try:
        statements = con.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"cannot parse the query: {exc}") from exc
    if not statements:
        raise QueryRefused("empty query")
    for st in statements:
        kind = st.type.name
        if kind not in ALLOWED_STATEMENTS:
            raise QueryRefused(
                f"refused: {kind} statements are not allowed; the catalogue is read-only "
                "(only SELECT queries run)"
            )
    if len(statements) > 1:
        raise QueryRefused("refused: run one SELECT statement at a time")


def run_query(root: Path, sql: str) -> pl.DataFrame:
    """Run one read-only ``SELECT`` against the catalogue under ``root``."""
    con = connect(root)
    try:
        check_read_only(con, sql)
        return con.sql(sql).pl()
    finally:
        con.close()


def write_catalogue_file(root: Path) -> dict[str, int]:
    """Write ``root/catalogue.duckdb`` with the catalogue views; returns files per table."""
    layout = StorageLayout(Path(root))
    with atomic_path(layout.catalogue) as tmp:
        con = duckdb.connect(str(tmp))
        try:
            counts = _define_views(con, layout)
        finally:
            con.close()
        wal = Path(f"{tmp}.wal")
        if wal.exists():
            os.unlink(wal)
    return counts


def row_counts(root: Path) -> dict[str, int]:
    """Rows in every stored table, as the catalogue sees them."""
    con = connect(root)
    try:
        return {
            t.name: int(con.sql(f"SELECT count(*) FROM {t.name}").fetchall()[0][0])
            for t in STORED_TABLES
        }
    finally:
        con.close()
