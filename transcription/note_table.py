"""The note table written next to the MIDI file, with its units in the column names.

Table ``<stem>_notes.parquet`` (one row per note, sorted by onset):

============  =======  ============================================================
column        type     meaning
============  =======  ============================================================
track_id      String   track identity (short sha256 of the source file)
stem          String   stem name
model         String   separation model that produced the stem
onset_s       Float64  note start, seconds from the start of the stem
offset_s      Float64  note end, seconds
duration_s    Float64  ``offset_s - onset_s``, seconds
midi_pitch    Int32    MIDI note number (A4 = 69), as written to the MIDI file
f0_mean_hz    Float32  mean f0 of the note's frames, Hz (null if not given)
rms_dbfs      Float32  loudest frame level of the note, dBFS (null if not given)
velocity      Int32    MIDI velocity 1..127, as written to the MIDI file
============  =======  ============================================================
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from atomicfile import atomic_path

NOTE_TABLE_SCHEMA = {
    "track_id": pl.String,
    "stem": pl.String,
    "model": pl.String,
    "onset_s": pl.Float64,
    "offset_s": pl.Float64,
    "duration_s": pl.Float64,
    "midi_pitch": pl.Int32,
    "f0_mean_hz": pl.Float32,
    "rms_dbfs": pl.Float32,
    "velocity": pl.Int32,
}
REQUIRED_NOTE_COLUMNS = ("onset_s", "offset_s", "midi_pitch", "velocity")


def note_table(notes: pl.DataFrame, *, track_id: str, stem: str, model: str) -> pl.DataFrame:
    """The export table of a ``notes`` table from :mod:`features.notes`.

    Adds the key columns and ``duration_s``, clips ``velocity`` to 1..127 and sorts by
    onset. Extra input columns are dropped; missing ``f0_mean_hz``/``rms_dbfs`` become null.

    Raises
    ------
    ValueError
        If a required column is missing or a note does not end after it starts.
    """
    missing = [c for c in REQUIRED_NOTE_COLUMNS if c not in notes.columns]
    if missing:
        raise ValueError(f"notes table lacks columns {missing}")
    optional = [
        pl.col(c) if c in notes.columns else pl.lit(None).alias(c)
        for c in ("f0_mean_hz", "rms_dbfs")
    ]
    table = (
        notes.select(
            pl.lit(track_id).alias("track_id"),
            pl.lit(stem).alias("stem"),
            pl.lit(model).alias("model"),
            "onset_s",
            "offset_s",
            (pl.col("offset_s") - pl.col("onset_s")).alias("duration_s"),
            "midi_pitch",
            *optional,
            pl.col("velocity").clip(1, 127),
        )
        .cast(NOTE_TABLE_SCHEMA)
        .sort("onset_s", maintain_order=True)
    )
    if table.height and (table["duration_s"] <= 0).any():
        raise ValueError("every note must end after it starts (offset_s > onset_s)")
    return table


def write_note_table(path: Path, table: pl.DataFrame) -> Path:
    """Write a note table as Parquet at ``path`` (atomically); return ``path``."""
    with atomic_path(path) as tmp:
        table.write_parquet(tmp)
    return path
