"""``stem_features``: pitch, onsets, chroma, notes and a summary for every stem of a track."""

import time

import dagster as dg
import polars as pl
import soundfile as sf

from catalogue.layout import FEATURE_KINDS, write_parquet
from reporting import metrics_table_markdown
from resources.feature_pool import FeaturePool
from resources.settings import StemlineSettings

from .partitions import tracks_partitions
from .records import record_run, stem_rows, track_partition


@dg.asset(
    partitions_def=tracks_partitions,
    deps=["stems"],
    group_name="features",
    kinds={"essentia", "parquet"},
    code_version="3",  # 3: chroma stored C-first
)
def stem_features(
    context: dg.AssetExecutionContext, settings: StemlineSettings, feature_pool: FeaturePool
) -> dg.MaterializeResult:
    """Compute essentia features for every stem of the track (stems in parallel, in the
    processes of ``feature_pool``) on the shared 100 frames/s grid, and write one Parquet file
    per feature kind and stem."""
    layout, track_id, model = track_partition(context, settings)
    stems = stem_rows(layout, model, track_id)
    started = time.perf_counter()
    audio, rate = {}, None
    for row in stems:
        data, rate = sf.read(row["path"], dtype="float32", always_2d=True)
        audio[row["stem"]] = data
    feats = feature_pool.extract(audio, rate)
    counts: dict[str, int] = dict.fromkeys(FEATURE_KINDS, 0)
    summaries = []
    for stem, feat in feats.items():
        tables = feat.tables(track_id=track_id, model=model)
        for kind in FEATURE_KINDS:
            write_parquet(tables[kind], layout.features(kind, track_id, model, stem))
            counts[kind] += tables[kind].height
        summaries.append(tables["summary"])
    compute_s = time.perf_counter() - started
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
        }
    )
