"""The stems table as the stems step writes it: one row per stem with its own file, levels and
clipped samples beside the columns all stems share, in the stored schema, read back from
Parquet unchanged."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from catalogue.layout import StorageLayout, write_parquet
from catalogue.schema import STEM_SCHEMA, stem_table


def test_the_stems_table_has_one_row_per_stem_in_the_stored_schema(tmp_path):
    layout = StorageLayout(tmp_path)
    folder = layout.stems_dir("2stems", "ab" * 8)
    table = stem_table(
        {"vocals": folder / "vocals.flac", "accompaniment": folder / "accompaniment.flac"},
        {"vocals": (-20.5, -3.0), "accompaniment": (-18.0, -0.5)},
        {"accompaniment": 12},
        track_id="ab" * 8,
        model="2stems",
        codec="flac",
        checkpoint_sha256="f" * 64,
        code_version="spleeter:2stems@f3a90b39dd28/engine1",
        duration_s=3.0,
        sample_rate=44100,
        mixture_residual_db=-71.25,
        separation_s=1.5,
        written_at=datetime(2026, 12, 2, tzinfo=UTC),
        run_id="run",
    )
    assert table.schema == pl.Schema(STEM_SCHEMA)
    assert table["stem"].to_list() == ["vocals", "accompaniment"]
    assert table["path"].to_list() == [
        str(folder / "vocals.flac"),
        str(folder / "accompaniment.flac"),
    ]
    assert table["clipped_samples"].to_list() == [0, 12]
    assert table["peak_dbfs"].to_list() == [-3.0, -0.5]
    assert set(table["mixture_residual_db"]) == {-71.25}
    path = write_parquet(table, layout.stems_table("2stems", "ab" * 8))
    assert Path(path).is_file()
    assert pl.read_parquet(path).equals(table)
