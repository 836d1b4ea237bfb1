"""The stemline catalogue: storage layout, input inventory, and DuckDB views over Parquet with a
read-only query path (files are written through :mod:`atomicfile`).

No Dagster here; the assets call these modules. See :mod:`catalogue.schema` for the tables and
their units, :mod:`catalogue.layout` for where files go, :mod:`catalogue.query` for SQL. The
package imports nothing eagerly, so light users (the assets use :mod:`catalogue.layout`) do
not pay for DuckDB.
"""
