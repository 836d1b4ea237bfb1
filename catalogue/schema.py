"""The catalogue schema: DuckDB views over the Parquet files of every track.

Each asset writes one Parquet file per track partition (see :mod:`catalogue.layout`); the
catalogue is a set of views over those files. Re-materialising a partition replaces its files
atomically, so rows are never duplicated and readers never see half a write; many processes (or
machines) can write partitions in parallel, and no database lock is held while the pipeline
runs.

Units
-----
Units are in the column names: ``_s`` seconds, ``_hz`` Hertz, ``_lufs`` integrated loudness,
``_db`` a ratio in decibels, ``midi_`` MIDI note numbers (A4 = 69), and ``_dbfs`` a level in dB
relative to full scale: ``20 log10(amplitude)`` with full scale 1.0 (a full-scale sine has a
peak of 0 dBFS and an RMS of -3.01 dBFS), floored at -120 dBFS (:data:`dbfs.FLOOR_DBFS`) in
every table. Digital silence is -120 dBFS, never ``-inf``, so ``min``, ``avg`` or a difference
over a level column stays a number.

Views
-----
files            every input path seen (``catalogue.inventory``): role, hash, status,
                 problem; ``path`` shows bytes that are not UTF-8 as ``\\xNN``, ``path_bytes``
                 holds the exact name; a file overwritten in place keeps a ``removed`` row
                 with its old track id beside the row of its new content
track_records    per track: decode status (``ok``/``error``), error message, duration_s,
                 sample_rate, channels, format, peak_dbfs, rms_dbfs
tracks           one row per track id: its paths, ``status`` (ok / error / pending),
                 ``removed`` (no present path left: deleted, or overwritten with other
                 content; its results stay), error and audio metadata
stem_files       per track, model, stem: path, codec, checkpoint_sha256, code_version,
                 duration_s, rms_dbfs, peak_dbfs, clipped_samples, mixture_residual_db (the
                 track's stems summed against the mixture, in band; see separation.residual)
stems            stem_files joined with the stem summaries (active_ratio, integrated_lufs)
pitch_frames     per 10 ms frame (100 frames/s, times at frame centres): f0_hz, voiced (0/1),
                 confidence, rms_dbfs
onsets           time_s, strength
chroma_frames    per frame: chroma FLOAT[12], element [1] = C ... [12] = B (as stored by
                 ``features.chroma``), each frame normalised to a maximum of 1
notes            onset_s, offset_s, midi_pitch, f0_mean_hz, rms_dbfs, velocity (1..127), method
stem_summaries   per stem: is_silent, loudness, active/voiced ratio, pitch range, onset rate, key
evaluation       long format: track_id, model, stem, metric, value, reference
runs             per asset and track: the Dagster run id, partition key and time of the last write
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from .inventory_schema import INVENTORY_SCHEMA

KEYS = {"track_id": pl.String, "model": pl.String, "stem": pl.String}

# The feature tables as :mod:`features` computes them (one stem, without the keys). They live
# here, at the storage boundary, so that the query path knows every stored table without
# importing essentia; the ``features`` modules import them from here and document their columns
# and units (``features.pitch``, ``features.onsets``, ``features.chroma``, ``features.notes``,
# ``features.summary``).

#: Pitch classes per chroma frame (HPCP size).
CHROMA_BINS = 12

PITCH_SCHEMA = {
    "frame": pl.Int32,
    "time_s": pl.Float64,
    "f0_hz": pl.Float32,
    "voiced": pl.Int8,
    "confidence": pl.Float32,
    "rms_dbfs": pl.Float32,
}

ONSET_SCHEMA = {"time_s": pl.Float64, "frame": pl.Int32, "strength": pl.Float32}

CHROMA_SCHEMA = {
    "frame": pl.Int32,
    "time_s": pl.Float64,
    "chroma": pl.Array(pl.Float32, CHROMA_BINS),
}

NOTE_SCHEMA = {
    "onset_s": pl.Float64,
    "offset_s": pl.Float64,
    "midi_pitch": pl.Int32,
    "f0_mean_hz": pl.Float32,
    "rms_dbfs": pl.Float32,
    "velocity": pl.Int32,
    "method": pl.String,
}

SUMMARY_SCHEMA = {
    "stem": pl.String,
    "duration_s": pl.Float64,
    "is_silent": pl.Boolean,
    "rms_dbfs": pl.Float32,
    "peak_dbfs": pl.Float32,
    "integrated_lufs": pl.Float32,
    "active_ratio": pl.Float32,
    "voiced_ratio": pl.Float32,
    "pitch_p05_midi": pl.Float32,
    "pitch_median_midi": pl.Float32,
    "pitch_p95_midi": pl.Float32,
    "pitch_median_hz": pl.Float32,
    "n_onsets": pl.Int32,
    "onset_rate_hz": pl.Float32,
    "n_notes": pl.Int32,
    "key": pl.String,
    "mode": pl.String,
    "key_strength": pl.Float32,
    "mean_chroma": pl.Array(pl.Float32, CHROMA_BINS),
    "pitch_method": pl.String,
    "onset_methods": pl.String,
}

TRACK_SCHEMA = {
    "track_id": pl.String,
    "path": pl.String,
    "sha256": pl.String,
    "status": pl.String,
    "error": pl.String,
    "duration_s": pl.Float64,
    "sample_rate": pl.Int32,
    "channels": pl.Int32,
    "n_samples": pl.Int64,
    "format": pl.String,
    "subtype": pl.String,
    "peak_dbfs": pl.Float32,
    "rms_dbfs": pl.Float32,
    "checked_at": pl.Datetime("us", "UTC"),
    "run_id": pl.String,
}

STEM_SCHEMA = {
    **KEYS,
    "path": pl.String,
    "codec": pl.String,
    "checkpoint_sha256": pl.String,
    "code_version": pl.String,
    "duration_s": pl.Float64,
    "sample_rate": pl.Int32,
    "rms_dbfs": pl.Float32,
    "peak_dbfs": pl.Float32,
    "clipped_samples": pl.Int64,
    "mixture_residual_db": pl.Float32,
    "separation_s": pl.Float64,
    "written_at": pl.Datetime("us", "UTC"),
    "run_id": pl.String,
}


def stem_table(
    files: Mapping[str, str | os.PathLike],
    levels_dbfs: Mapping[str, tuple[float, float]],
    clipped_samples: Mapping[str, int],
    **common: object,
) -> pl.DataFrame:
    """The stems table of one separation (:data:`STEM_SCHEMA`), one row per stem.

    Parameters
    ----------
    files : Mapping[str, str or os.PathLike]
        Stem name -> the file written.
    levels_dbfs : Mapping[str, tuple[float, float]]
        Stem name -> ``(rms, peak)`` level in dBFS, as measured while writing.
    clipped_samples : Mapping[str, int]
        Stem name -> samples clipped when written (absent: none).
    **common
        The columns every stem shares (``track_id``, ``model``, ``codec``, ...).
    """
    rows = [
        {
            **common,
            "stem": stem,
            "path": os.fspath(path),
            "rms_dbfs": levels_dbfs[stem][0],
            "peak_dbfs": levels_dbfs[stem][1],
            "clipped_samples": clipped_samples.get(stem, 0),
        }
        for stem, path in files.items()
    ]
    return pl.DataFrame(rows, schema=STEM_SCHEMA)


EVALUATION_SCHEMA = {
    **KEYS,
    "metric": pl.String,
    "value": pl.Float64,
    "reference": pl.String,
    "run_id": pl.String,
}

RUN_SCHEMA = {
    "asset": pl.String,
    "track_id": pl.String,
    "partition_key": pl.String,
    "run_id": pl.String,
    "finished_at": pl.Datetime("us", "UTC"),
}


def _feature(schema: dict) -> dict:
    return {**KEYS, **{k: v for k, v in schema.items() if k not in KEYS}}


@dataclass(frozen=True)
class StoredTable:
    """A view over one family of Parquet files."""

    name: str
    glob: str
    schema: dict = field(repr=False)
    select: str = "*"


STORED_TABLES = (
    StoredTable("files", "inventory/files.parquet", INVENTORY_SCHEMA),
    StoredTable("track_records", "tracks/*.parquet", TRACK_SCHEMA),
    StoredTable("stem_files", "stems/*/*/stems.parquet", STEM_SCHEMA),
    StoredTable("pitch_frames", "features/pitch/*/*/*.parquet", _feature(PITCH_SCHEMA)),
    StoredTable("onsets", "features/onsets/*/*/*.parquet", _feature(ONSET_SCHEMA)),
    StoredTable(
        "chroma_frames",
        "features/chroma/*/*/*.parquet",
        _feature(CHROMA_SCHEMA),
        # Parquet gives FLOAT[12] back as FLOAT[]; restore the fixed size.
        select="* REPLACE (CAST(chroma AS FLOAT[12]) AS chroma)",
    ),
    StoredTable("notes", "features/notes/*/*/*.parquet", _feature(NOTE_SCHEMA)),
    StoredTable("stem_summaries", "features/summary/*/*/*.parquet", _feature(SUMMARY_SCHEMA)),
    StoredTable("evaluation", "evaluation/*/*.parquet", EVALUATION_SCHEMA),
    StoredTable("runs", "runs/*/*.parquet", RUN_SCHEMA),
)

DERIVED_VIEWS = {
    "tracks": """
        WITH paths AS (
            SELECT track_id,
                   list(path ORDER BY path) FILTER (WHERE status <> 'removed') AS paths,
                   list(path ORDER BY path) AS all_paths,
                   bool_or(status = 'present') AS present,
                   bool_or(status = 'pending') AS pending,
                   max(problem) AS problem
            FROM files WHERE role = 'track' AND track_id IS NOT NULL
            GROUP BY track_id)
        SELECT p.track_id,
               coalesce(p.paths[1], p.all_paths[1]) AS path,
               p.all_paths AS paths,
               coalesce(r.status, CASE WHEN p.problem IS NOT NULL THEN 'error'
                                       ELSE 'pending' END) AS status,
               NOT p.present AND NOT p.pending AS removed,
               coalesce(r.error, p.problem) AS error,
               r.sha256, r.duration_s, r.sample_rate, r.channels, r.format, r.subtype,
               r.peak_dbfs, r.rms_dbfs, r.checked_at
        FROM paths p LEFT JOIN track_records r USING (track_id)
    """,
    "stems": """
        SELECT f.*, s.is_silent, s.active_ratio, s.integrated_lufs
        FROM stem_files f
        LEFT JOIN stem_summaries s USING (track_id, model, stem)
    """,
}
