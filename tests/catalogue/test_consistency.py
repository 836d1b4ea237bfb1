"""The catalogue against its Parquet files, on a real ``catalogue.duckdb``: written over the
files, it shows their rows; a file added after it was written is a mismatch named with both
counts; a damaged file is named first, with what is wrong with it."""

from __future__ import annotations

from datetime import UTC, datetime

import polars as pl

from catalogue.catalogue_file import write_catalogue_file
from catalogue.consistency import compare_row_counts
from catalogue.layout import StorageLayout, write_parquet
from catalogue.schema import EVALUATION_SCHEMA, TRACK_SCHEMA

TRACK_ID = "ab" * 8


def write_track(layout: StorageLayout, track_id: str) -> None:
    row = {key: None for key in TRACK_SCHEMA}
    row |= {"track_id": track_id, "path": f"/music/{track_id}.wav", "status": "ok"}
    row["checked_at"] = datetime.now(UTC)
    write_parquet(pl.DataFrame([row], schema=TRACK_SCHEMA), layout.track(track_id))


def write_evaluation(layout: StorageLayout, metrics: int) -> None:
    keys = {"track_id": TRACK_ID, "model": "2stems", "stem": "vocals"}
    rows = [
        {**keys, "metric": f"m{i}", "value": 1.0, "reference": "vocals", "run_id": "r"}
        for i in range(metrics)
    ]
    table = pl.DataFrame(rows, schema=EVALUATION_SCHEMA)
    write_parquet(table, layout.evaluation(TRACK_ID, "2stems"))


def test_a_catalogue_written_over_the_files_matches_them(tmp_path):
    layout = StorageLayout(tmp_path)
    write_track(layout, TRACK_ID)
    write_catalogue_file(tmp_path)
    counts = compare_row_counts(layout)
    assert counts.problems == [] and counts.mismatched == {}
    assert counts.seen["track_records"] == counts.stored["track_records"] == 1
    assert counts.stored["evaluation"] == 0


def test_rows_added_after_the_catalogue_was_written_are_a_mismatch(tmp_path):
    layout = StorageLayout(tmp_path)
    write_track(layout, TRACK_ID)
    write_catalogue_file(tmp_path)
    write_evaluation(layout, metrics=3)
    counts = compare_row_counts(layout)
    assert counts.mismatched == {"evaluation": (0, 3)}
    assert counts.problems == ["evaluation: the catalogue shows 0 rows, its Parquet files hold 3"]


def test_a_damaged_file_is_named_first(tmp_path):
    layout = StorageLayout(tmp_path)
    write_track(layout, TRACK_ID)
    write_track(layout, "cd" * 8)
    write_catalogue_file(tmp_path)
    damaged = layout.track("cd" * 8)
    damaged.write_bytes(damaged.read_bytes()[:100])
    counts = compare_row_counts(layout)
    assert counts.problems[0].startswith(f"{damaged} is "), counts.problems
    assert counts.stored["track_records"] == 1
    assert any(p.startswith("track_records: the catalogue shows") for p in counts.problems[1:])
