"""Opening the catalogue: an in-memory DuckDB connection, sandboxed, over the Parquet files.

:func:`open_catalogue` builds an in-memory DuckDB connection whose views (:mod:`catalogue.schema`)
read the current Parquet files, so a query always sees every finished partition and never takes
a lock that a running pipeline would need. The connection is sandboxed: only the storage root
can be read (DuckDB's spill folder is inside it too, and removed on close; folders of queries
killed on this machine are removed by the next one), nothing can be written, extensions are not
loaded, and the configuration is locked. A connection opened for one query defines only the
views that query reads (:func:`catalogue.views.tables_read`), so a query over ``tracks`` does
not first read the footers of every feature file.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import socket
import uuid
from collections.abc import Collection
from pathlib import Path

import duckdb

from atomicfile import process_alive

from .connection import Catalogue
from .layout import StorageLayout
from .views import define_views, sql_string

SPILL_PREFIX = ".query-spill-"
_SPILL = re.compile(rf"^{re.escape(SPILL_PREFIX)}(?P<host>.+)-(?P<pid>\d+)-[0-9a-f]{{8}}$")


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
        failing with :class:`~catalogue.connection.UnreadableFilesError`.
    tables : collection of str, optional
        Define only these stored tables (and the derived views over them), as
        :func:`~catalogue.views.tables_read` gives them for a query; all when None.
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
