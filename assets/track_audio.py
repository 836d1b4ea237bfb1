"""``track_audio``: decode and validate one track, and record its metadata or its error.

Only a regular file is decoded (a FIFO or device put in its place since the scan is refused
with its kind, never opened), and the bytes decoded must be the bytes the scan hashed
(:func:`separation.inspection.inspect_unchanged`): a file swapped in the meantime fails the
partition with ``<path>: changed while being processed (...)``; the next scan hashes the new
content and takes it in as a new track.
"""

import functools
from datetime import UTC, datetime

import dagster as dg
import polars as pl

from catalogue.inventory import (
    InputChanged,
    check_unchanged,
    printable,
    read_inventory,
    regular_file_problem,
    track_file,
)
from catalogue.layout import StorageLayout, write_parquet
from catalogue.schema import TRACK_SCHEMA
from resources.settings import StemlineSettings
from separation.audio import AudioError
from separation.inspection import inspect_unchanged

from .partitions import tracks_partitions
from .records import TRANSIENT_RETRIES, permanent_failure, record_run, track_partition


def _write(layout: StorageLayout, row: dict) -> None:
    full = {key: row.get(key) for key in TRACK_SCHEMA}
    write_parquet(pl.DataFrame([full], schema=TRACK_SCHEMA), layout.track(row["track_id"]))


@dg.asset(
    partitions_def=tracks_partitions,
    group_name="tracks",
    kinds={"python", "parquet"},
    code_version="1",
    retry_policy=TRANSIENT_RETRIES,
)
def track_audio(
    context: dg.AssetExecutionContext, settings: StemlineSettings
) -> dg.MaterializeResult:
    """Decode the track's file, check it (readable, finite, within limits) and record its
    duration, rate, channels and level. A bad file is recorded with status ``error`` and the
    reason, and this partition fails; other tracks are unaffected."""
    layout, track_id, _ = track_partition(context, settings)
    scanned = track_file(read_inventory(layout.inventory), track_id)
    if scanned is None:
        raise permanent_failure(
            f"track {track_id} is not in the inventory (or all its files were removed)"
        )
    entry, source = scanned.entry, scanned.source
    base = {
        "track_id": track_id,
        "path": entry["path"],
        "sha256": entry["sha256"],
        "checked_at": datetime.now(UTC),
        "run_id": context.run.run_id,
    }
    try:
        problem = entry["problem"] or regular_file_problem(source)
        if problem:
            raise AudioError(f"{entry['path']}: {problem}")
        unchanged = functools.partial(check_unchanged, source, entry["sha256"])
        meta = inspect_unchanged(source, settings.max_duration_s, verify=unchanged)
    except (AudioError, InputChanged) as exc:
        message = printable(str(exc))  # a name that is not UTF-8, escaped
        _write(layout, {**base, "status": "error", "error": message})
        record_run(context, layout, "track_audio")
        context.log.error(message)
        raise permanent_failure(message) from exc
    _write(layout, {**base, **meta, "status": "ok"})
    record_run(context, layout, "track_audio")
    context.log.info(f"{entry['path']}: {meta['duration_s']:.1f} s, {meta['sample_rate']} Hz")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(entry["path"]),
            "paths": scanned.copies,
            "duration_s": meta["duration_s"],
            "sample_rate": meta["sample_rate"],
            "channels": meta["channels"],
            "peak_dbfs": meta["peak_dbfs"],
        }
    )
