"""Small shared pieces of the track assets: run records and reading earlier results."""

import os
from datetime import UTC, datetime
from typing import NamedTuple

import dagster as dg
import polars as pl

from catalogue.integrity import DamagedFileError, read_checked
from catalogue.inventory import read_inventory, real_path
from catalogue.layout import StorageLayout, UnsafeNameError, check_track_id, write_parquet
from catalogue.schema import RUN_SCHEMA
from resources.settings import StemlineSettings

from .partitions import track_id_of

#: Retries for failures that may pass (a model download, a flaky network file system); bad
#: audio raises ``Failure(allow_retries=False)`` and is never retried.
TRANSIENT_RETRIES = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def permanent_failure(message: str) -> dg.Failure:
    """A failure that retrying cannot fix (bad input, missing upstream output)."""
    return dg.Failure(description=message, allow_retries=False)


def partition_track_id(context) -> str:
    """The track id inside the partition key (:mod:`assets.partitions`), checked to be a hex
    digest so it can never form a path elsewhere."""
    try:
        return check_track_id(track_id_of(context.partition_key))
    except UnsafeNameError as exc:
        raise permanent_failure(f"partition {context.partition_key!r}: {exc}") from exc


class TrackPartition(NamedTuple):
    """What every track step starts from: where outputs live, the track, the model."""

    layout: StorageLayout
    track_id: str
    model: str


def track_partition(context, settings: StemlineSettings) -> TrackPartition:
    """The partition's :class:`TrackPartition` (``layout, track_id, model = ...``)."""
    return TrackPartition(settings.layout, partition_track_id(context), settings.model_name)


def record_run(context: dg.AssetExecutionContext, layout: StorageLayout, asset: str) -> None:
    """Note which Dagster run wrote ``asset`` for this partition (the ``runs`` view)."""
    row = {
        "asset": asset,
        "track_id": partition_track_id(context),
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
    try:
        row = read_checked(path).row(0, named=True)
    except DamagedFileError as exc:
        raise permanent_failure(f"{exc}; materialise track_audio again") from exc
    if row["status"] != "ok":
        raise permanent_failure(f"track {track_id} ({row['path']}) is unusable: {row['error']}")
    return row


def stem_rows(layout: StorageLayout, model: str, track_id: str) -> list[dict]:
    """Per-stem records written by the stems asset."""
    path = layout.stems_table(model, track_id)
    if not path.is_file():
        raise permanent_failure(f"track {track_id} has no {model} stems; materialise stems first")
    try:
        return read_checked(path).to_dicts()
    except DamagedFileError as exc:
        raise permanent_failure(f"{exc}; materialise stems again") from exc


def input_file(layout: StorageLayout, track: dict) -> str:
    """The file to open for a track record: its ``path`` as shown, with a name that is not
    UTF-8 (shown with ``\\xNN`` escapes) resolved to its exact bytes through the inventory.

    Returned as :func:`os.fsdecode` gives it; soundfile needs ``os.fsencode`` of it."""
    return real_path(read_inventory(layout.inventory), track["path"], track["track_id"])


def references(layout: StorageLayout, mixture_path: str) -> dict[str, str]:
    """Reference stems of a mixture in MUSDB18 layout: ``{stem_name: file to open}``
    (``mixture_path`` as shown; the files as :func:`os.fsdecode` gives them)."""
    inv = read_inventory(layout.inventory)
    refs = inv.filter(
        (pl.col("role") == "reference")
        & (pl.col("mixture_path") == mixture_path)
        & (pl.col("status") == "present")
    )
    files = [
        os.fsdecode(raw) if raw is not None else shown
        for shown, raw in zip(refs["path"], refs["path_bytes"], strict=True)
    ]
    return dict(zip(refs["reference_stem"], files, strict=True))
