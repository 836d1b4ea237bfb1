"""The read-only catalogue query path and the catalogue file."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from catalogue.layout import StorageLayout, UnsafeNameError, write_parquet
from catalogue.query import QueryRefused, row_counts, run_query, write_catalogue_file
from catalogue.schema import STORED_TABLES, TRACK_SCHEMA


def test_every_view_exists_and_is_empty_on_a_fresh_root(tmp_path):
    counts = row_counts(tmp_path)
    assert set(counts) == {t.name for t in STORED_TABLES}
    assert all(n == 0 for n in counts.values())
    assert run_query(tmp_path, "SELECT count(*) AS n FROM tracks")["n"][0] == 0
    chroma = run_query(tmp_path, "SELECT * FROM chroma_frames")
    assert "chroma" in chroma.columns


def test_rows_written_per_partition_are_replaced_not_duplicated(tmp_path):
    layout = StorageLayout(tmp_path)
    row = {k: None for k in TRACK_SCHEMA} | {"track_id": "ab" * 8, "status": "ok"}
    for duration in (1.0, 2.0):  # the same partition written twice
        write_parquet(
            pl.DataFrame([row | {"duration_s": duration}], schema=TRACK_SCHEMA),
            layout.track("ab" * 8),
        )
    out = run_query(tmp_path, "SELECT track_id, duration_s FROM track_records")
    assert out.rows() == [("ab" * 8, 2.0)]


@pytest.mark.parametrize(
    "sql",
    [
        "DROP VIEW tracks",
        "DELETE FROM files",
        "INSERT INTO runs VALUES (1)",
        "COPY (SELECT 1) TO '/tmp/stemline-escape.csv'",
        "ATTACH '/tmp/stemline-other.db'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "CREATE TABLE x AS SELECT 1",
        "SELECT 1; DROP VIEW tracks",
    ],
)
def test_writes_and_escapes_are_refused(tmp_path, sql):
    with pytest.raises(QueryRefused, match="refused"):
        run_query(tmp_path, sql)


def test_file_functions_cannot_reach_outside_the_storage_root(tmp_path):
    outside = tmp_path.parent / f"{tmp_path.name}-outside.csv"
    outside.write_text("a\n1\n")
    with pytest.raises(duckdb.PermissionException):
        run_query(tmp_path, f"SELECT * FROM read_csv('{outside}')")


def test_catalogue_file_opens_read_only_in_plain_duckdb(tmp_path):
    layout = StorageLayout(tmp_path)
    row = {k: None for k in TRACK_SCHEMA} | {
        "track_id": "cd" * 8,
        "status": "error",
        "error": "x.wav: empty file",
    }
    write_parquet(pl.DataFrame([row], schema=TRACK_SCHEMA), layout.track("cd" * 8))
    write_catalogue_file(tmp_path)
    con = duckdb.connect(str(layout.catalogue), read_only=True)
    assert con.execute("SELECT error FROM track_records").fetchone()[0] == "x.wav: empty file"
    con.close()


def test_layout_refuses_names_that_would_escape(tmp_path):
    layout = StorageLayout(tmp_path)
    for bad in ("../x", "/etc", "a/b", "..", "x\n"):
        with pytest.raises(UnsafeNameError):
            layout.stems_dir(bad, "ab" * 8)
    with pytest.raises(UnsafeNameError):
        layout.track("../../etc/passwd")


def test_chroma_view_starts_at_c(tmp_path):
    import polars as pl

    from catalogue.layout import StorageLayout, write_parquet
    from catalogue.schema import STORED_TABLES

    schema = next(t for t in STORED_TABLES if t.name == "chroma_frames").schema
    a_major = [1.0, 0, 0, 0, 0.8, 0, 0, 0.6, 0, 0, 0, 0]  # essentia bins: A first (A, C#, E)
    row = {
        "track_id": "ef" * 8,
        "model": "2stems",
        "stem": "other",
        "frame": 0,
        "time_s": 0.0,
        "chroma": a_major,
    }
    write_parquet(
        pl.DataFrame([row], schema=schema),
        StorageLayout(tmp_path).features("chroma", "ef" * 8, "2stems", "other"),
    )
    chroma = run_query(tmp_path, "SELECT chroma FROM chroma_frames")["chroma"][0].to_list()
    names = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    assert {names[i] for i, v in enumerate(chroma) if v > 0} == {"A", "C#", "E"}
    assert chroma[9] == 1.0  # A


def test_files_from_before_a_new_column_still_answer_queries(tmp_path):
    """Summaries written before ``mean_chroma`` existed read as null; example 10 still runs."""
    from catalogue.examples import EXAMPLES
    from catalogue.schema import STORED_TABLES

    schema = next(t for t in STORED_TABLES if t.name == "stem_summaries").schema
    old_schema = {k: v for k, v in schema.items() if k != "mean_chroma"}
    row = {k: None for k in old_schema} | {
        "track_id": "cd" * 8,
        "model": "2stems",
        "stem": "accompaniment",
        "is_silent": False,
    }
    write_parquet(
        pl.DataFrame([row], schema=old_schema),
        StorageLayout(tmp_path).features("summary", "cd" * 8, "2stems", "accompaniment"),
    )
    out = run_query(tmp_path, "SELECT stem, mean_chroma FROM stem_summaries")
    assert out.rows() == [("accompaniment", None)]
    assert out.schema["mean_chroma"] == pl.Array(pl.Float32, 12)
    title, sql = EXAMPLES[9]
    assert "pitch class" in title
    assert run_query(tmp_path, sql).is_empty()
    # A newer track beside it: both read, each with what its file holds.
    chroma = [0.0] * 12
    chroma[7] = 1.0  # G
    write_parquet(
        pl.DataFrame([row | {"track_id": "ce" * 8, "mean_chroma": chroma}], schema=schema),
        StorageLayout(tmp_path).features("summary", "ce" * 8, "2stems", "accompaniment"),
    )
    out = run_query(tmp_path, "SELECT track_id, mean_chroma FROM stem_summaries ORDER BY 1")
    assert out["track_id"].to_list() == ["cd" * 8, "ce" * 8]
    assert out["mean_chroma"][0] is None and out["mean_chroma"][1].to_list() == chroma
    assert run_query(tmp_path, sql).rows() == [("ce" * 8, 7)]
