"""``track_audio``: decode and validate one track, and record its metadata or its error.

Only a regular file is decoded (a FIFO or device put in its place since the scan is refused
with its kind, never opened), and the bytes decoded must be the bytes the scan hashed: the file
is hashed again after decoding, and a file swapped in the meantime fails the partition with
``<path>: changed while being processed (...)``; the next scan hashes the new content and takes
it in as a new track.
"""

import os
from datetime import UTC, datetime

import dagster as dg
import numpy as np
import polars as pl

from catalogue.inventory import (
    InputChanged,
    check_unchanged,
    printable,
    read_inventory,
    regular_file_problem,
)
from catalogue.layout import StorageLayout, write_parquet
from catalogue.schema import TRACK_SCHEMA
from resources.settings import StemlineSettings
from separation.audio import AudioError, probe, read_blocks

from .partitions import tracks_partitions
from .records import TRANSIENT_RETRIES, partition_track_id, permanent_failure, record_run

MAX_SAMPLE_RATE = 384_000
MAX_CHANNELS = 32


def _dbfs(value: float) -> float:
    return float(20 * np.log10(value)) if value > 0 else -float("inf")


def inspect_audio(path: str, max_duration_s: float) -> dict:
    """Read the whole file once: header sanity, limits, NaN/Inf, peak and RMS level."""
    info = probe(path)
    if info.sample_rate > MAX_SAMPLE_RATE or info.channels > MAX_CHANNELS:
        raise AudioError(
            f"{path}: {info.sample_rate} Hz / {info.channels} channels is beyond the limits "
            f"({MAX_SAMPLE_RATE} Hz, {MAX_CHANNELS} channels)"
        )
    if info.duration_s > max_duration_s:
        raise AudioError(
            f"{path}: {info.duration_s:.0f} s is longer than the configured maximum "
            f"({max_duration_s:.0f} s)"
        )
    peak, energy, n = 0.0, 0.0, 0
    for block in read_blocks(info):
        peak = max(peak, float(np.abs(block).max()))
        energy += float(np.sum(block.astype(np.float64) ** 2))
        n += block.size
    return {
        "duration_s": info.duration_s,
        "sample_rate": info.sample_rate,
        "channels": info.channels,
        "n_samples": info.frames,
        "format": info.format,
        "subtype": info.subtype,
        "peak_dbfs": _dbfs(peak),
        "rms_dbfs": _dbfs(np.sqrt(energy / max(n, 1))),
    }


def decode_scanned(path: str, sha256: str, max_duration_s: float) -> dict:
    """:func:`inspect_audio` of a file that must still hold the content the scan hashed.

    Raises :class:`~catalogue.inventory.InputChanged` if the file changed since the scan (also
    when its new content does not decode: the change, not the audio, is the reason), else
    :class:`~separation.audio.AudioError` for bad audio."""
    try:
        meta = inspect_audio(path, max_duration_s)
    except AudioError:
        check_unchanged(path, sha256)
        raise
    check_unchanged(path, sha256)
    return meta


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
    layout = settings.layout
    track_id = partition_track_id(context)
    inv = read_inventory(layout.inventory)
    rows = inv.filter((pl.col("track_id") == track_id) & (pl.col("role") == "track"))
    present = rows.filter(pl.col("status") != "removed").sort("path")
    if present.is_empty():
        raise permanent_failure(
            f"track {track_id} is not in the inventory (or all its files were removed)"
        )
    entry = present.row(0, named=True)
    source = os.fsdecode(entry["path_bytes"]) if entry["path_bytes"] is not None else entry["path"]
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
        meta = decode_scanned(source, entry["sha256"], settings.max_duration_s)
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
            "paths": len(present),
            "duration_s": meta["duration_s"],
            "sample_rate": meta["sample_rate"],
            "channels": meta["channels"],
            "peak_dbfs": meta["peak_dbfs"],
        }
    )
