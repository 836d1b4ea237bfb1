"""Small shared pieces of the track assets: run records and reading earlier results."""

from datetime import UTC, datetime

import dagster as dg
import polars as pl

from catalogue.inventory import read_inventory
from catalogue.layout import StorageLayout, UnsafeNameError, check_track_id, write_parquet
from catalogue.schema import RUN_SCHEMA

#: Retries for failures that may pass (a model download, a flaky network file system); bad
#: audio raises ``Failure(allow_retries=False)`` and is never retried.
TRANSIENT_RETRIES = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def permanent_failure(message: str) -> dg.Failure:
    """A failure that retrying cannot fix (bad input, missing upstream output)."""
    return dg.Failure(description=message, allow_retries=False)


def partition_track_id(context) -> str:
    """The partition key, checked to be a track id (so it can never form a path elsewhere)."""
    try:
        return check_track_id(context.partition_key)
    except UnsafeNameError as exc:
        raise permanent_failure(f"partition {context.partition_key!r}: {exc}") from exc


def record_run(context: dg.AssetExecutionContext, layout: StorageLayout, asset: str) -> None:
    """Note which Dagster run wrote ``asset`` for this partition (the ``runs`` view)."""
    row = {
        "asset": asset,
        "track_id": context.partition_key,
        "partition_key": context.partition_key,
        "run_id": context.run.run_id,
        "finished_at": datetime.now(UTC),
    }
    write_parquet(pl.DataFrame([row], schema=RUN_SCHEMA), layout.run_record(asset, row["track_id"]))


def track_record(layout: StorageLayout, track_id: str) -> dict:
    """The track's decode record; fails the step if the track is missing or unusable."""
    path = layout.track(track_id)
    if not path.is_file():
        raise permanent_failure(f"track {track_id} has no record; materialise track_audio first")
    row = pl.read_parquet(path).row(0, named=True)
    if row["status"] != "ok":
        raise permanent_failure(f"track {track_id} ({row['path']}) is unusable: {row['error']}")
    return row


def stem_rows(layout: StorageLayout, model: str, track_id: str) -> list[dict]:
    """Per-stem records written by the stems asset."""
    path = layout.stems_table(model, track_id)
    if not path.is_file():
        raise permanent_failure(f"track {track_id} has no {model} stems; materialise stems first")
    return pl.read_parquet(path).to_dicts()


def references(layout: StorageLayout, mixture_path: str) -> dict[str, str]:
    """Reference stems of a mixture in MUSDB18 layout: ``{stem_name: path}``."""
    inv = read_inventory(layout.inventory)
    refs = inv.filter(
        (pl.col("role") == "reference")
        & (pl.col("mixture_path") == mixture_path)
        & (pl.col("status") == "present")
    )
    return dict(zip(refs["reference_stem"], refs["path"], strict=True))
