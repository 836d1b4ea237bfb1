"""``stem_features``: pitch, onsets, chroma, notes and a summary for every stem of a track."""

import time

import dagster as dg
import polars as pl

from catalogue.store import FEATURE_KINDS
from reporting import metrics_table_markdown

from .records import TrackPartition, required
from .track_step import StepResult, TrackStep

CODE_VERSION = "8"  # 4: basic-pitch notes on polyphonic stems, notes.method; 5: SwiftF0 pitch;
# 6: BS.1770 loudness, vectorised spectra, basic-pitch layer by layer (float32-level changes);
# 7: octave-jump folding in the pitch track, pitch-track notes start with their glide or
# attack, bass line on accompaniment and mixture; 8: Melodia sums 10 harmonics instead of 20


def stem_features(part: TrackPartition) -> StepResult:
    """Compute essentia features for every stem of the track (stems in parallel, in the
    processes of ``feature_pool``) on the shared 100 frames/s grid, and write one Parquet file
    per feature kind and stem."""
    store = part.store
    stems = required(store.stem_rows)
    started = time.perf_counter()
    audio, rate = required(store.read_stems, stems)
    feats = part.feature_pool.extract(audio, rate)
    counts: dict[str, int] = dict.fromkeys(FEATURE_KINDS, 0)
    summaries = []
    for stem, feat in feats.items():
        tables = feat.tables(track_id=store.track_id, model=store.model)
        store.write_feature_tables(stem, tables)
        for kind in FEATURE_KINDS:
            counts[kind] += tables[kind].height
        summaries.append(tables["summary"])
    compute_s = time.perf_counter() - started
    part.record_run("stem_features")
    summary = pl.concat(summaries, how="diagonal_relaxed")
    silent = summary.filter(pl.col("is_silent"))["stem"].to_list()
    part.log.info(f"features of {len(feats)} stems; silent: {silent or 'none'}")
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
    return StepResult(
        metadata={
            **{f"rows_{kind}": n for kind, n in counts.items()},
            "silent_stems": dg.MetadataValue.json(silent),
            "summary": dg.MetadataValue.md(preview),
            "compute_s": compute_s,
        }
    )


STEP = TrackStep(
    "stem_features",
    stem_features,
    code_version=CODE_VERSION,
    description=stem_features.__doc__,
    deps=("stems",),
    group_name="features",
    kinds=frozenset({"essentia", "parquet"}),
)
