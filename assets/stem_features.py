"""``stem_features``: pitch, onsets, chroma, notes and a summary for every stem of a track."""

import os
import time

import dagster as dg
import polars as pl
import soundfile as sf

from catalogue.layout import FEATURE_KINDS, write_parquet
from features import extract_track_features
from features.parallel import feature_process_pool
from reporting import metrics_table_markdown

from .partitions import tracks_partitions
from .records import partition_track_id, record_run, stem_rows
from .settings import StemlineSettings


@dg.asset(
    partitions_def=tracks_partitions,
    deps=["stems"],
    group_name="features",
    kinds={"essentia", "parquet"},
    code_version="1",
)
def stem_features(
    context: dg.AssetExecutionContext, settings: StemlineSettings
) -> dg.MaterializeResult:
    """Compute essentia features for every stem of the track (stems in parallel processes) on
    the shared 100 frames/s grid, and write one Parquet file per feature kind and stem."""
    layout = settings.layout
    track_id = partition_track_id(context)
    model = settings.model_name
    stems = stem_rows(layout, model, track_id)
    started = time.perf_counter()
    audio, rate = {}, None
    for row in stems:
        data, rate = sf.read(row["path"], dtype="float32", always_2d=True)
        audio[row["stem"]] = data
    # A pool per step: a process-wide pool shut down at interpreter exit deadlocked inside
    # Dagster's multiprocess step workers (seen in CI); starting workers costs ~1 s per track.
    workers = min(len(audio), os.cpu_count() or 1)
    pool_s = 0.0
    if workers > 1:
        pool_started = time.perf_counter()
        with feature_process_pool(workers) as pool:
            pool_s = time.perf_counter() - pool_started
            feats = extract_track_features(audio, rate, executor=pool)
            pool_stopping = time.perf_counter()
        pool_s += time.perf_counter() - pool_stopping
    else:
        feats = extract_track_features(audio, rate, max_workers=1)
    counts: dict[str, int] = dict.fromkeys(FEATURE_KINDS, 0)
    summaries = []
    for stem, feat in feats.items():
        tables = feat.tables(track_id=track_id, model=model)
        for kind in FEATURE_KINDS:
            write_parquet(tables[kind], layout.features(kind, track_id, model, stem))
            counts[kind] += tables[kind].height
        summaries.append(tables["summary"])
    compute_s = time.perf_counter() - started - pool_s
    record_run(context, layout, "stem_features")
    summary = pl.concat(summaries, how="diagonal_relaxed")
    silent = summary.filter(pl.col("is_silent"))["stem"].to_list()
    context.log.info(f"features of {len(feats)} stems; silent: {silent or 'none'}")
    preview = metrics_table_markdown(
        summary.select(
            "stem",
            "is_silent",
            "rms_dbfs",
            "active_ratio",
            "voiced_ratio",
            "pitch_median_midi",
            "onset_rate_hz",
        )
    )
    return dg.MaterializeResult(
        metadata={
            **{f"rows_{kind}": n for kind, n in counts.items()},
            "silent_stems": dg.MetadataValue.json(silent),
            "summary": dg.MetadataValue.md(preview),
            "compute_s": compute_s,
            "pool_start_s": pool_s,
        }
    )
