"""Note table export: key columns, units in names, clipping, sorting, bad input."""

from __future__ import annotations

import polars as pl
import pytest

from features.notes import empty_notes
from transcription.note_table import NOTE_TABLE_SCHEMA, note_table, write_note_table


def test_columns_keys_and_duration(tmp_path, notes):
    table = note_table(notes, track_id="ab12", stem="vocals", model="4stems")
    path = write_note_table(tmp_path / "vocals_notes.parquet", table)
    back = pl.read_parquet(path)
    assert back.schema == pl.Schema(NOTE_TABLE_SCHEMA)
    assert back["track_id"].unique().to_list() == ["ab12"]
    assert back["duration_s"].to_list() == pytest.approx(
        (notes["offset_s"] - notes["onset_s"]).to_list()
    )
    assert back["midi_pitch"].to_list() == notes["midi_pitch"].to_list()


def test_sorted_clipped_and_optional_columns_null():
    raw = pl.DataFrame(
        {
            "onset_s": [1.0, 0.0],
            "offset_s": [2.0, 0.5],
            "midi_pitch": [60, 62],
            "velocity": [500, -3],
        }
    )
    table = note_table(raw, track_id="t", stem="bass", model="m")
    assert table["onset_s"].to_list() == [0.0, 1.0]
    assert table["velocity"].to_list() == [1, 127]
    assert table["f0_mean_hz"].null_count() == 2


def test_empty_notes_give_empty_table():
    table = note_table(empty_notes(), track_id="t", stem="vocals", model="m")
    assert table.height == 0 and table.schema == pl.Schema(NOTE_TABLE_SCHEMA)


def test_bad_notes_rejected(notes):
    with pytest.raises(ValueError, match="lacks"):
        note_table(notes.drop("velocity"), track_id="t", stem="s", model="m")
    backwards = notes.with_columns(offset_s=pl.col("onset_s"))
    with pytest.raises(ValueError, match="end after"):
        note_table(backwards, track_id="t", stem="s", model="m")
