"""One-row summary of a stem: loudness, activity, pitch statistics, onset rate, key.

Table ``summary`` (exactly one row):

==================  =======  ========================================================
column              type     meaning
==================  =======  ========================================================
stem                String   stem name
duration_s          Float64  stem duration, seconds
is_silent           Boolean  active_ratio < min_active_ratio; then all pitch, onset,
                             chroma and note tables are empty and pitch/key are null
rms_dbfs            Float32  RMS of the whole mono stem, dBFS
peak_dbfs           Float32  sample peak of the mono stem, dBFS
integrated_lufs     Float32  EBU R128 integrated loudness (:mod:`features.loudness`,
                             stereo), LUFS; null for silent stems or stems < 0.4 s
active_ratio        Float32  share of frames above ``silence_dbfs`` (0..1)
voiced_ratio        Float32  share of frames with a voiced f0 (0..1)
pitch_p05_midi      Float32  5th percentile of voiced frame pitch, MIDI (null if none)
pitch_median_midi   Float32  median voiced frame pitch, MIDI
pitch_p95_midi      Float32  95th percentile of voiced frame pitch, MIDI
pitch_median_hz     Float32  median voiced f0, Hz
n_onsets            Int32    number of onsets
onset_rate_hz       Float32  onsets per second of stem
n_notes             Int32    number of note events
key                 String   key tonic (e.g. "A", "C#"), null when silent
mode                String   "major" or "minor", null when silent
key_strength        Float32  essentia Key strength (0..1), 0 when silent
mean_chroma         Float32  mean of the stem's chroma frames per pitch class, element
                    [12]     [1] = C ... [12] = B (0..1); null when silent. The per-stem
                             answer to "which pitch classes dominate" without scanning frames
pitch_method        String   pitch method used (settings table)
onset_methods       String   onset detection functions used, "+"-joined
==================  =======  ========================================================
"""

from __future__ import annotations

import polars as pl

from catalogue.schema import SUMMARY_SCHEMA
from features.validation import (
    FeatureValidationError,
    require_range,
    require_schema,
)

NULLABLE = {
    "integrated_lufs",
    "pitch_p05_midi",
    "pitch_median_midi",
    "pitch_p95_midi",
    "pitch_median_hz",
    "key",
    "mode",
    "mean_chroma",
}


def summary_row(values: dict) -> pl.DataFrame:
    """Build the one-row ``summary`` table from a dict keyed by its column names."""
    missing = set(SUMMARY_SCHEMA) - set(values)
    if missing:
        raise ValueError(f"summary is missing {sorted(missing)}")
    return pl.DataFrame({k: [values[k]] for k in SUMMARY_SCHEMA}, schema=SUMMARY_SCHEMA)


def validate_summary(frame: pl.DataFrame) -> None:
    """Check a ``summary`` table; raise :class:`FeatureValidationError` if malformed.

    Checks the schema, exactly one row, no nulls outside the nullable columns, ratios in
    [0, 1], non-negative duration and counts, and that a silent stem has no pitch,
    notes, onsets, key or mean chroma.
    """
    family = "summary"
    require_schema(frame, SUMMARY_SCHEMA, family)
    if frame.height != 1:
        raise FeatureValidationError(f"{family}: expected one row, got {frame.height}")
    row = frame.row(0, named=True)
    for name, value in row.items():
        if value is None and name not in NULLABLE:
            raise FeatureValidationError(f"{family}: column {name!r} is null")
        if isinstance(value, float) and value != value:
            raise FeatureValidationError(f"{family}: column {name!r} is NaN")
    for name in ("active_ratio", "voiced_ratio", "key_strength"):
        require_range(frame, name, 0.0, 1.0, family)
    for name in ("duration_s", "n_onsets", "n_notes", "onset_rate_hz"):
        if row[name] < 0:
            raise FeatureValidationError(f"{family}: {name} is negative")
    mean_chroma = row["mean_chroma"]
    if mean_chroma is not None and not all(0.0 <= v <= 1.0 for v in mean_chroma):
        raise FeatureValidationError(f"{family}: mean_chroma outside [0, 1] or NaN")
    if row["is_silent"] and (
        row["voiced_ratio"] > 0
        or row["n_notes"]
        or row["n_onsets"]
        or row["key"] is not None
        or mean_chroma is not None
    ):
        raise FeatureValidationError(
            f"{family}: a silent stem must have no pitch, notes, onsets, key or mean chroma"
        )
