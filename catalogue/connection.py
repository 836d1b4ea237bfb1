"""An open catalogue: a query on its connection, its result streamed, its errors named.

A :class:`Catalogue` is a DuckDB connection with the catalogue views (opened by
:func:`catalogue.sandbox.open_catalogue`) and the files it could not read. Unreadable files
(truncated by a full disk, damaged by a copy) are never skipped silently
(:mod:`catalogue.views` finds them): by default a query that reads a table with unreadable
files fails with :class:`UnreadableFilesError` naming them, while queries over other tables
(and ``SELECT 1``) answer; opened with ``skip_unreadable`` it answers over the readable rest,
and :meth:`Catalogue.unreadable_in` says what was left out.

Results stream in record batches (:meth:`Catalogue.stream`), optionally under a time limit;
:mod:`catalogue.results` writes them. DuckDB's errors become :class:`QueryFailed` (on one line,
with a suggestion for a misspelt view), :class:`QueryTimeout` or
:class:`UnreadableFilesError`.
"""

from __future__ import annotations

import difflib
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import duckdb

from .read_only import check_read_only
from .schema import DERIVED_VIEWS, STORED_TABLES
from .views import GATE, UnreadableFile, one_line, tables_read

#: Rows per record batch when a result is streamed.
BATCH_ROWS = 65536


class QueryFailed(RuntimeError):
    """DuckDB could not run the query; the message is DuckDB's, on one line."""


class QueryTimeout(RuntimeError):
    """The query ran longer than its time limit and was stopped."""


class UnreadableFilesError(RuntimeError):
    """The query reads a table some of whose files cannot be read.

    Attributes
    ----------
    table : str
        The table.
    files : list of UnreadableFile
        Its unreadable files.
    """

    def __init__(self, table: str, files: list[UnreadableFile]) -> None:
        self.table = table
        self.files = files
        shown = "; ".join(str(f) for f in files[:3])
        more = f" and {len(files) - 3} more" if len(files) > 3 else ""
        super().__init__(f"unreadable file {shown}{more}")


@dataclass
class Catalogue:
    """A sandboxed connection with the catalogue views, and what it could not read.

    Attributes
    ----------
    con : duckdb.DuckDBPyConnection
        The connection; close it with :meth:`close` (or use the catalogue as a context).
    files : dict of str to int
        Parquet files behind each stored table the connection defines.
    unreadable : dict of str to list of UnreadableFile
        The unreadable files of each table that has some.
    """

    con: duckdb.DuckDBPyConnection
    files: dict[str, int]
    unreadable: dict[str, list[UnreadableFile]] = field(default_factory=dict)

    def __enter__(self) -> Catalogue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (DuckDB removes its spill folder)."""
        self.con.close()

    def unreadable_in(self, sql: str) -> list[UnreadableFile]:
        """The unreadable files of the tables ``sql`` reads (of every table, if that cannot
        be told): what a query run with ``skip_unreadable`` leaves out."""
        tables = tables_read(sql)
        return [
            f
            for name, files in self.unreadable.items()
            if tables is None or name in tables
            for f in files
        ]

    def failure(self, exc: BaseException) -> Exception:
        """The exception to raise for a DuckDB error of a query on this catalogue."""
        message = str(exc)
        if GATE in message:
            table = message.split(GATE, 1)[1].split()[0].strip("'\"")
            return UnreadableFilesError(table, self.unreadable.get(table, []))
        text = one_line(message)
        missing = re.search(r"Table with name (\S+) does not exist!", text)
        if missing:  # only the tables a query reads are defined: suggest from all of them
            views = [t.name for t in STORED_TABLES] + list(DERIVED_VIEWS)
            close = difflib.get_close_matches(missing[1].lower(), views, n=1)
            hint = f' Did you mean "{close[0]}"?' if close else ""
            text = f"{text[: missing.end()]}{hint} (views: {', '.join(sorted(views))})"
        return QueryFailed(text)

    @contextmanager
    def stream(
        self, sql: str, timeout_s: float | None = None, batch_rows: int = BATCH_ROWS
    ) -> Iterator[ResultStream]:
        """Run one read-only ``SELECT`` and yield its result as record batches.

        Rows are fetched ``batch_rows`` at a time, so no more than a batch is held in memory.
        With ``timeout_s`` the query is interrupted after that many seconds (while running or
        while its result is read) and :class:`QueryTimeout` is raised.

        Raises
        ------
        QueryRefused
            ``sql`` is not one ``SELECT``.
        UnreadableFilesError
            It reads a table with unreadable files (and the catalogue gates them).
        QueryFailed
            DuckDB reported an error (bad SQL, an unknown column, a file outside the root).
        QueryTimeout
            It ran past ``timeout_s``.
        """
        check_read_only(self.con, sql)
        expired = threading.Event()
        timer = None
        if timeout_s is not None:
            timer = threading.Timer(timeout_s, lambda: (expired.set(), self.con.interrupt()))
            timer.daemon = True
            timer.start()

        def failure(exc: BaseException) -> Exception:
            if expired.is_set():
                return QueryTimeout(f"the query was stopped after {timeout_s:g} s (--timeout)")
            return self.failure(exc)

        try:
            try:
                reader = self.con.sql(sql).to_arrow_reader(batch_rows)
            except (duckdb.Error, OSError) as exc:
                raise failure(exc) from exc
            yield ResultStream(reader, failure)
        finally:
            if timer is not None:
                timer.cancel()


class ResultStream:
    """The record batches of a running query, with its schema (see :meth:`Catalogue.stream`)."""

    def __init__(self, reader, failure: Callable[[BaseException], Exception]) -> None:
        self._reader = reader
        self._failure = failure

    @property
    def schema(self):
        """The result's Arrow schema (known before any row is read)."""
        return self._reader.schema

    def __iter__(self):
        while True:
            try:
                batch = self._reader.read_next_batch()
            except StopIteration:
                return
            except (duckdb.Error, OSError) as exc:  # Arrow reports DuckDB's errors as OSError
                raise self._failure(exc) from exc
            yield batch
