"""The stemline catalogue: storage layout, atomic writes, input inventory, and DuckDB views over
Parquet with a read-only query path.

No Dagster here; the assets call these modules. See :mod:`catalogue.schema` for the tables and
their units, :mod:`catalogue.layout` for where files go, :mod:`catalogue.query` for SQL. The
package imports nothing eagerly, so light users (the transcription exports use
:mod:`catalogue.atomic`) do not pay for DuckDB or the feature schemas.
"""
