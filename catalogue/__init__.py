"""The stemline catalogue: storage layout, input inventory and DuckDB views over Parquet.

No Dagster here; the assets call these functions. See :mod:`catalogue.schema` for the tables
and their units, :mod:`catalogue.layout` for where files go, :mod:`catalogue.query` for the
read-only SQL path.
"""

from .inventory import read_inventory, scan
from .layout import StorageLayout, model_slug, write_parquet
from .query import QueryRefused, connect, row_counts, run_query, write_catalogue_file

__all__ = [
    "QueryRefused",
    "StorageLayout",
    "connect",
    "model_slug",
    "read_inventory",
    "row_counts",
    "run_query",
    "scan",
    "write_catalogue_file",
    "write_parquet",
]
