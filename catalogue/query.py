"""Open the catalogue and run read-only SQL on it.

:func:`open_catalogue` builds an in-memory DuckDB connection whose views (:mod:`catalogue.schema`)
read the current Parquet files, so a query always sees every finished partition and never takes
a lock that a running pipeline would need. The connection is sandboxed: only the storage root
can be read (DuckDB's spill folder is inside it too, and removed on close), nothing can be
written, and the configuration is locked. Only ``SELECT`` statements run; anything else
(``DROP``, ``DELETE``, ``INSERT``, ``COPY ... TO``, ``ATTACH``, ``INSTALL``/``LOAD``, ``SET``,
...) is refused with a message saying so.

Unreadable files (truncated by a full disk, damaged by a copy) are never skipped silently
(:mod:`catalogue.views` finds them). By default a query that reads a table with unreadable
files fails with :class:`UnreadableFilesError` naming them, while queries over other tables
(and ``SELECT 1``) answer; with ``skip_unreadable`` it answers over the readable rest and
:meth:`Catalogue.unreadable_in` says what was left out. A connection opened for one query
defines only the views that query reads (:func:`tables_read`), so a query over ``tracks`` does
not first read the footers of every feature file.

Results stream in record batches (:meth:`Catalogue.stream`), optionally under a time limit;
:mod:`catalogue.results` writes them.

:func:`write_catalogue_file` writes ``catalogue.duckdb`` with the same views (absolute paths)
for DuckDB clients outside stemline, replacing the file atomically; its views leave unreadable
files out, and it returns them so that the ``catalogue`` asset reports them.
"""

from __future__ import annotations

import difflib
import glob
import os
import re
import shutil
import socket
import tempfile
import threading
import uuid
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import polars as pl

from atomicfile import atomic_path, process_alive

from .layout import StorageLayout
from .schema import DERIVED_VIEWS, STORED_TABLES
from .views import GATE, UnreadableFile, define_views, one_line, sql_string, tables_read

ALLOWED_STATEMENTS = {"SELECT"}
#: What a stemline storage root holds; a folder with none of these has no catalogue.
CATALOGUE_ENTRIES = ("inventory", "tracks", "stems", "features", "evaluation", "runs")
#: Rows per record batch when a result is streamed.
BATCH_ROWS = 65536
SPILL_PREFIX = ".query-spill-"
_SPILL = re.compile(rf"^{re.escape(SPILL_PREFIX)}(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{{8}}$")


class QueryRefused(ValueError):
    """The SQL is not a read-only query."""


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


def _sweep_spill_folders(root: Path) -> None:
    """Remove spill folders that queries killed on this machine left in ``root``."""
    host = socket.gethostname()
    try:
        entries = list(os.scandir(root))
    except OSError:
        return
    for entry in entries:
        m = _SPILL.match(entry.name)
        if m and m["host"] == host and not process_alive(int(m["pid"])):
            shutil.rmtree(entry.path, ignore_errors=True)


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


def open_catalogue(
    root: Path, skip_unreadable: bool = False, tables: Collection[str] | None = None
) -> Catalogue:
    """A sandboxed in-memory catalogue over ``root``.

    Parameters
    ----------
    root : Path
        The storage root; it is the only place queries can read.
    skip_unreadable : bool
        Let queries read tables with unreadable files (over the readable ones) instead of
        failing with :class:`UnreadableFilesError`.
    tables : collection of str, optional
        Define only these stored tables (and the derived views over them), as
        :func:`tables_read` gives them for a query; all when None.
    """
    layout = StorageLayout(Path(root))
    root_dir = layout.root.resolve()
    _sweep_spill_folders(root_dir)
    # DuckDB may read its own temporary folder whatever the sandbox says, so it is a fresh
    # folder inside the root (created only if a query spills, removed on close).
    spill = root_dir / f"{SPILL_PREFIX}{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    con = duckdb.connect(":memory:", config={"temp_directory": str(spill)})
    try:
        # Keep Parquet footers once read: the views read every file's schema when they are
        # defined, and each query would otherwise read those thousands of footers again.
        con.execute("SET parquet_metadata_cache = true")
        counts, unreadable = define_views(
            con, layout, gate_unreadable=not skip_unreadable, only=tables
        )
        # The views' globs name the root escaped (store[[]v1] for store[v1]) and DuckDB checks
        # the pattern as written, so the escaped spelling is allowed too; it matches nothing
        # but the root.
        allowed = dict.fromkeys([str(root_dir), glob.escape(str(root_dir))])
        con.execute(f"SET allowed_directories = [{', '.join(map(sql_string, allowed))}]")
        con.execute("SET enable_external_access = false")
        con.execute("SET autoinstall_known_extensions = false")
        con.execute("SET autoload_known_extensions = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return Catalogue(con, counts, unreadable)


def connect(root: Path, skip_unreadable: bool = False) -> duckdb.DuckDBPyConnection:
    """A sandboxed in-memory connection with the catalogue views over ``root`` (see
    :func:`open_catalogue`, which also says which files are unreadable)."""
    return open_catalogue(root, skip_unreadable).con


def run_query(root: Path, sql: str, skip_unreadable: bool = False) -> pl.DataFrame:
    """Run one read-only ``SELECT`` against the catalogue under ``root``.

    Raises :class:`QueryRefused`, :class:`UnreadableFilesError` (unless ``skip_unreadable``)
    or DuckDB's own error."""
    check_read_only(None, sql)
    with open_catalogue(root, skip_unreadable, tables_read(sql)) as catalogue:
        try:
            return catalogue.con.sql(sql).pl()
        except duckdb.Error as exc:
            if GATE in str(exc):
                raise catalogue.failure(exc) from exc
            raise


@dataclass(frozen=True)
class CatalogueFiles:
    """What ``catalogue.duckdb`` was built over: files per table, and the unreadable ones
    (left out of its views)."""

    counts: dict[str, int]
    unreadable: list[UnreadableFile]


def write_catalogue_file(root: Path) -> CatalogueFiles:
    """Write ``root/catalogue.duckdb`` with the catalogue views over the readable files.

    DuckDB cannot write a database whose path has a ``?`` (it reads the rest as options), so
    the file is built in a private temporary folder and then copied into place atomically."""
    layout = StorageLayout(Path(root))
    with tempfile.TemporaryDirectory(prefix="stemline-catalogue-") as work:
        built = Path(work) / "catalogue.duckdb"
        con = duckdb.connect(str(built))
        try:
            counts, unreadable = define_views(con, layout)
        finally:
            con.close()
        with atomic_path(layout.catalogue) as tmp:
            shutil.copyfile(built, tmp)
    return CatalogueFiles(counts, [f for files in unreadable.values() for f in files])


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
