"""``stem_features``: pitch, onsets, chroma, notes and a summary for every stem of a track."""

import os
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager

import dagster as dg
import polars as pl
import soundfile as sf

from catalogue.layout import FEATURE_KINDS, write_parquet
from features import extract_track_features
from features.parallel import _import_features, feature_process_pool
from reporting import metrics_table_markdown

from .partitions import tracks_partitions
from .records import partition_track_id, record_run, stem_rows
from .settings import StemlineSettings

#: ``(pool, workers)`` of ``shared_feature_pool`` while one is open in this process.
_SHARED: dict[str, tuple[ProcessPoolExecutor, int]] = {}


def _start_pool(workers: int) -> ProcessPoolExecutor:
    """A pool whose workers start importing essentia now, without waiting for them."""
    pool = feature_process_pool(workers, warm=False)
    for i in range(workers):
        pool.submit(_import_features, i)
    return pool


@contextmanager
def shared_feature_pool(workers: int) -> Iterator[None]:
    """Let ``stem_features`` steps executed in this process share one pool of feature workers.

    ``stemline run`` executes the steps of every track in its one process, one after another;
    inside this block they send their stems to one pool, started here in the background, instead
    of starting (and importing essentia in) a new pool per step, which cost 1-3 s per track. The
    pool is shut down when the block ends, never at interpreter exit (a process-wide pool shut
    down by ``atexit`` hung Dagster's multiprocess step workers), and a pool broken by a dying
    worker is replaced for the next step. Steps in other processes (``dagster dev``'s
    multiprocess executor) keep one pool per step.
    """
    if workers <= 1 or "pool" in _SHARED:
        yield
        return
    _SHARED["pool"] = (_start_pool(workers), workers)
    try:
        yield
    finally:
        _SHARED.pop("pool")[0].shutdown(cancel_futures=True)


def _extract(audio: dict, rate: int) -> tuple[dict, float]:
    """Features of every stem, and the seconds spent starting and stopping worker processes."""
    if "pool" in _SHARED and len(audio) > 1:
        pool, workers = _SHARED["pool"]
        try:
            return extract_track_features(audio, rate, executor=pool), 0.0
        except BrokenProcessPool:  # a worker died: this step fails, the next gets a new pool
            pool.shutdown(wait=False, cancel_futures=True)
            _SHARED["pool"] = (_start_pool(workers), workers)
            raise
    workers = min(len(audio), os.cpu_count() or 1)
    if workers <= 1:
        return extract_track_features(audio, rate, max_workers=1), 0.0
    # A pool per step: a process-wide pool shut down at interpreter exit deadlocked inside
    # Dagster's multiprocess step workers (seen in CI).
    started = time.perf_counter()
    with feature_process_pool(workers) as pool:
        pool_s = time.perf_counter() - started
        feats = extract_track_features(audio, rate, executor=pool)
        stopping = time.perf_counter()
    return feats, pool_s + time.perf_counter() - stopping


@dg.asset(
    partitions_def=tracks_partitions,
    deps=["stems"],
    group_name="features",
    kinds={"essentia", "parquet"},
    code_version="2",
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
    feats, pool_s = _extract(audio, rate)
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
