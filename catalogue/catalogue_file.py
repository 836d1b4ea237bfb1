"""``catalogue.duckdb``: the catalogue views in a database file, for DuckDB clients.

:func:`write_catalogue_file` writes ``catalogue.duckdb`` with the same views as the query path
(:mod:`catalogue.views`, absolute paths) for DuckDB clients outside stemline, replacing the file
atomically; its views leave unreadable files out, and it returns them so that the ``catalogue``
asset reports them.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb

from atomicfile import atomic_path

from .layout import StorageLayout
from .views import UnreadableFile, define_views


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
