"""The read-only rule of the query path: only one ``SELECT`` statement runs.

Anything else (``DROP``, ``DELETE``, ``INSERT``, ``COPY ... TO``, ``ATTACH``,
``INSTALL``/``LOAD``, ``SET``, ...) is refused with a message saying so, before DuckDB runs
it; several statements at once are refused too. This is the first of two guards: the
connection the query runs on is also sandboxed (:mod:`catalogue.sandbox`), so that nothing can
be written even by a statement that got past the parser.
"""

from __future__ import annotations

import duckdb

from .views import one_line

ALLOWED_STATEMENTS = {"SELECT"}


class QueryRefused(ValueError):
    """The SQL is not a read-only query."""


def check_read_only(con: duckdb.DuckDBPyConnection | None, sql: str) -> None:
    """Raise :class:`QueryRefused` unless ``sql`` is exactly one ``SELECT`` statement."""
    parser = con if con is not None else duckdb.connect(":memory:")
    try:
        statements = parser.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"cannot parse the query: {one_line(str(exc))}") from exc
    finally:
        if con is None:
            parser.close()
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
