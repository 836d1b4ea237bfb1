"""Define the catalogue's views on a DuckDB connection, and say which views a query needs.

Each stored table (:data:`catalogue.schema.STORED_TABLES`) becomes a view over its Parquet
files. The files are read through one glob, which is fast; only when that read fails (a file
truncated by a full disk has no footer) are they checked one by one, and the view then reads
the readable ones by name and the unreadable ones are returned, each with why. A view over a
table with unreadable files can be *gated*: it raises, naming the table, when a query reads it,
so no query silently answers over part of a table. :func:`tables_read` says which stored
tables a query reads, so that a connection can define only those.

Paths in the views are globs with the storage root escaped (:meth:`StorageLayout.glob`).
"""

from __future__ import annotations

import glob
import json
import re
from collections.abc import Collection
from dataclasses import dataclass

import duckdb
import polars as pl

from .layout import StorageLayout
from .schema import DERIVED_VIEWS, STORED_TABLES, StoredTable

#: The start of the error a gated view raises; the table's name follows.
GATE = "stemline: unreadable files in table "
#: Table functions that read no catalogue table by name (files are read by path, sandboxed).
PLAIN_TABLE_FUNCTIONS = frozenset(
    {"range", "generate_series", "unnest", "glob", "read_parquet", "parquet_scan", "read_csv",
     "read_csv_auto", "read_json", "read_json_auto", "read_ndjson", "read_text", "read_blob",
     "parquet_schema", "parquet_metadata", "parquet_file_metadata", "parquet_kv_metadata"}
)  # fmt: skip


@dataclass(frozen=True)
class UnreadableFile:
    """A Parquet file of a stored table that cannot be read, and why."""

    table: str
    path: str
    problem: str

    def __str__(self) -> str:
        return f"{self.path} (table {self.table}): {self.problem}"


def sql_string(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def one_line(message: str) -> str:
    """DuckDB's message without its ``LINE n:`` pointer, on one line."""
    head = re.split(r"\n\s*\nLINE \d+:|\nLINE \d+:", message, maxsplit=1)[0]
    return " ".join(part.strip() for part in head.splitlines() if part.strip())


def _problem(message: str, path: str) -> str:
    """Why a file is unreadable, from DuckDB's message, without the path it already names."""
    text = one_line(message).replace(f"'{path}'", "").replace(f'"{path}"', "")
    text = re.sub(r"^[A-Za-z ]+ Error: ", "", text)
    return re.sub(r"\s+", " ", text).strip(" :") or "unreadable"


def _no_rows(con: duckdb.DuckDBPyConnection) -> str:
    """A row-less relation with the columns and types of ``_empty_table``."""
    wanted = con.execute("DESCRIBE SELECT * FROM _empty_table").fetchall()
    columns = ", ".join(f"CAST(NULL AS {sql_type}) AS {name}" for name, sql_type, *_ in wanted)
    return f"(SELECT {columns} WHERE false)"


def _select(con: duckdb.DuckDBPyConnection, table: StoredTable, paths: str) -> str:
    """The view's ``SELECT`` over the Parquet files ``paths`` (a SQL string or list).

    Reading every file's schema here is also what finds an unreadable file (a truncated file
    has no footer): the caller then checks the files one by one."""
    con.execute(f"SELECT count(*) FROM parquet_schema({paths})").fetchall()
    return f"SELECT {table.select} FROM read_parquet({paths})"


def _check_each(
    con: duckdb.DuckDBPyConnection, table: str, files: list[str]
) -> tuple[list[str], list[UnreadableFile]]:
    """Split ``files`` into the readable ones and the unreadable ones (with why)."""
    readable, unreadable = [], []
    for path in files:
        try:
            escaped = sql_string(glob.escape(path))
            con.execute(f"SELECT count(*) FROM parquet_schema({escaped})").fetchall()
        except duckdb.Error as exc:
            unreadable.append(UnreadableFile(table, path, _problem(str(exc), path)))
        else:
            readable.append(path)
    return readable, unreadable


def define_views(
    con: duckdb.DuckDBPyConnection,
    layout: StorageLayout,
    gate_unreadable: bool = False,
    only: Collection[str] | None = None,
) -> tuple[dict[str, int], dict[str, list[UnreadableFile]]]:
    """Create every view; returns the Parquet files behind each stored table, and the
    unreadable ones.

    Every file of a table has the table's schema (:mod:`catalogue.schema`), so the files are
    read as one relation. A table with unreadable files reads its readable files by name; with
    ``gate_unreadable`` its view raises (naming the table) when a query reads it. With
    ``only``, just those stored tables (and the derived views over them) are defined."""
    counts: dict[str, int] = {}
    unreadable: dict[str, list[UnreadableFile]] = {}
    for table in STORED_TABLES:
        if only is not None and table.name not in only:
            continue
        pattern = layout.glob(table.glob)
        files = sorted(glob.glob(pattern))
        counts[table.name] = len(files)
        con.register("_empty_table", pl.DataFrame(schema=table.schema).to_arrow())
        try:
            body = _select(con, table, sql_string(pattern)) if files else None
        except duckdb.Error:
            readable, bad = _check_each(con, table.name, files)
            if bad:
                unreadable[table.name] = bad
            names = "[" + ", ".join(sql_string(glob.escape(f)) for f in readable) + "]"
            body = _select(con, table, names) if readable else None
        if body is None:
            body = f"SELECT {table.select} FROM {_no_rows(con)}"
        if gate_unreadable and table.name in unreadable:
            gate = sql_string(GATE + table.name)
            body = f"SELECT * FROM ({body}) WHERE error({gate}) IS NULL"
        con.execute(f"CREATE OR REPLACE VIEW {table.name} AS {body}")
        con.unregister("_empty_table")
    for name, sql in DERIVED_VIEWS.items():
        needs = None if only is None else tables_read(sql)
        if needs is None or needs <= set(only or ()):
            con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
    return counts, unreadable


def _references(node: object, tables: set[str], functions: set[str]) -> None:
    """Collect the table names and table functions of a parsed statement (DuckDB's JSON
    syntax tree)."""
    if isinstance(node, dict):
        if node.get("type") == "BASE_TABLE" and isinstance(node.get("table_name"), str):
            tables.add(node["table_name"].lower())
        elif node.get("type") == "TABLE_FUNCTION" and isinstance(node.get("function"), dict):
            functions.add(str(node["function"].get("function_name", "")).lower())
        for value in node.values():
            _references(value, tables, functions)
    elif isinstance(node, list):
        for value in node:
            _references(value, tables, functions)


def tables_read(sql: str) -> set[str] | None:
    """The stored tables (:data:`catalogue.schema.STORED_TABLES`) that ``sql`` reads, directly
    or through the derived views; None when that cannot be told (a statement DuckDB does not
    parse to a syntax tree, or a table function that may name a table, like ``query_table``).

    A query then needs only those tables' views, so ``SELECT count(*) FROM tracks`` does not
    read the footers of thousands of feature files first."""
    stored = {t.name for t in STORED_TABLES}
    views = dict(DERIVED_VIEWS)
    con = duckdb.connect(":memory:")
    try:

        def parse(text: str) -> set[str] | None:
            try:
                tree = con.execute("SELECT json_serialize_sql(?)", [text]).fetchall()
                parsed = json.loads(tree[0][0])
            except (duckdb.Error, ValueError):
                return None
            names: set[str] = set()
            functions: set[str] = set()
            _references(parsed, names, functions)
            return None if parsed.get("error") or functions - PLAIN_TABLE_FUNCTIONS else names

        pending = parse(sql)
        if pending is None:
            return None
        tables: set[str] = set()
        while pending:
            name = pending.pop()
            if name in views:
                pending |= parse(views.pop(name)) or set()
            elif name in stored:
                tables.add(name)
        return tables
    finally:
        con.close()
