"""The read-only catalogue query path and the catalogue file."""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl
import pytest

from catalogue.catalogue_file import write_catalogue_file
from catalogue.layout import StorageLayout, UnsafeNameError, write_parquet
from catalogue.query import row_counts, run_queries, run_query
from catalogue.read_only import QueryRefused
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


def test_several_queries_on_one_opening_answer_as_one_by_one(tmp_path):
    layout = StorageLayout(tmp_path)
    for i, status in enumerate(("ok", "ok", "error")):
        row = {k: None for k in TRACK_SCHEMA} | {
            "track_id": f"{i:016x}", "status": status, "duration_s": 30.0 + i,
        }  # fmt: skip
        write_parquet(pl.DataFrame([row], schema=TRACK_SCHEMA), layout.track(f"{i:016x}"))
    sqls = [
        "SELECT status, count(*) AS n FROM track_records GROUP BY ALL ORDER BY ALL",
        "SELECT track_id FROM track_records WHERE duration_s > 30.5 ORDER BY track_id",
        "SELECT count(*) AS n FROM evaluation",
    ]
    together = run_queries(tmp_path, sqls)
    assert [t.rows() for t in together] == [run_query(tmp_path, sql).rows() for sql in sqls]
    assert together[0].rows() == [("error", 1), ("ok", 2)]
    with pytest.raises(QueryRefused, match="refused"):
        run_queries(tmp_path, [sqls[0], "DROP VIEW tracks"])


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


def test_chroma_view_keeps_the_stored_c_first_order(tmp_path):
    import polars as pl

    from catalogue.layout import StorageLayout, write_parquet
    from catalogue.schema import STORED_TABLES

    schema = next(t for t in STORED_TABLES if t.name == "chroma_frames").schema
    a_major = [0.0, 0.8, 0, 0, 0.6, 0, 0, 0, 0, 1.0, 0, 0]  # stored C first: C#, E, A
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


def test_strongest_pitch_class_example_reads_mean_chroma(tmp_path):
    """Example 10 names the strongest pitch class of ``mean_chroma`` (index 0 = C)."""
    from catalogue.examples import EXAMPLES
    from catalogue.schema import STORED_TABLES

    schema = next(t for t in STORED_TABLES if t.name == "stem_summaries").schema
    chroma = [0.0] * 12
    chroma[7] = 1.0  # G
    row = {k: None for k in schema} | {
        "track_id": "ce" * 8,
        "model": "2stems",
        "stem": "accompaniment",
        "is_silent": False,
        "mean_chroma": chroma,
    }
    write_parquet(
        pl.DataFrame([row], schema=schema),
        StorageLayout(tmp_path).features("summary", "ce" * 8, "2stems", "accompaniment"),
    )
    out = run_query(tmp_path, "SELECT mean_chroma FROM stem_summaries")
    assert out["mean_chroma"][0].to_list() == chroma
    title, sql = EXAMPLES[9]
    assert "pitch class" in title
    assert run_query(tmp_path, sql).rows() == [("ce" * 8, 7)]


def _summary_files(root, track_ids):
    """One vocals summary per track id; returns their paths."""
    schema = next(t.schema for t in STORED_TABLES if t.name == "stem_summaries")
    paths = []
    for i, track_id in enumerate(track_ids):
        row = {k: None for k in schema} | {
            "track_id": track_id,
            "model": "2stems",
            "stem": "vocals",
            "rms_dbfs": float(-20 - i),
        }
        paths.append(
            write_parquet(
                pl.DataFrame([row], schema=schema),
                StorageLayout(root).features("summary", track_id, "2stems", "vocals"),
            )
        )
    return paths


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_damaged_file_is_named_and_skipped_only_when_asked(tmp_path):
    from catalogue.connection import UnreadableFilesError

    _, bad = _summary_files(tmp_path, ["aa" * 8, "bb" * 8])
    _truncate(bad)
    assert run_query(tmp_path, "SELECT 1 AS one")["one"].to_list() == [1]
    assert run_query(tmp_path, "SELECT count(*) AS n FROM pitch_frames")["n"][0] == 0
    for sql in ("SELECT * FROM stem_summaries", "SELECT max(rms_dbfs) FROM stem_summaries"):
        with pytest.raises(UnreadableFilesError) as caught:
            run_query(tmp_path, sql)
        assert caught.value.table == "stem_summaries"
        assert [f.path for f in caught.value.files] == [str(bad)]
        assert "magic bytes" in caught.value.files[0].problem
    out = run_query(tmp_path, "SELECT track_id FROM stem_summaries", skip_unreadable=True)
    assert out["track_id"].to_list() == ["aa" * 8]
    with pytest.raises(UnreadableFilesError):
        row_counts(tmp_path)


def test_catalogue_file_leaves_unreadable_files_out_and_says_so(tmp_path):
    _, bad = _summary_files(tmp_path, ["aa" * 8, "bb" * 8])
    _truncate(bad)
    built = write_catalogue_file(tmp_path)
    assert built.counts["stem_summaries"] == 2
    assert [(f.table, f.path) for f in built.unreadable] == [("stem_summaries", str(bad))]
    con = duckdb.connect(str(StorageLayout(tmp_path).catalogue), read_only=True)
    assert con.execute("SELECT track_id FROM stem_summaries").fetchall() == [("aa" * 8,)]
    con.close()


@pytest.mark.parametrize("name", ["store[v1]", "st*re", "a?b"])
def test_glob_characters_in_the_root_match_only_themselves(tmp_path, name):
    import glob

    root = tmp_path / name
    _summary_files(root, ["aa" * 8])
    for sibling in ("store1", "storev", "store", "axb"):
        _summary_files(tmp_path / sibling, ["bb" * 8, "cc" * 8])
    pattern = StorageLayout(root).glob("features/summary/*/*/*.parquet")
    assert len(glob.glob(pattern)) == 1
    assert run_query(root, "SELECT track_id FROM stem_summaries").rows() == [("aa" * 8,)]
    assert run_query(root, f"SELECT count(*) FROM read_parquet('{pattern}')").rows() == [(1,)]
    written = write_catalogue_file(root)
    assert written.counts["stem_summaries"] == 1


def test_duckdb_spills_inside_the_storage_root_only(tmp_path):
    from catalogue.sandbox import open_catalogue

    with open_catalogue(tmp_path) as catalogue:
        spill = catalogue.con.execute("SELECT current_setting('temp_directory')").fetchall()
    assert Path(spill[0][0]).parent == tmp_path.resolve()
    assert not Path(spill[0][0]).exists()


def test_tables_read_follows_the_derived_views():
    from catalogue.views import tables_read

    assert tables_read("SELECT 1") == set()
    assert tables_read("SELECT count(*) FROM tracks") == {"files", "track_records"}
    assert tables_read(
        "WITH s AS (SELECT * FROM stems) SELECT * FROM s JOIN Notes USING (track_id)"
    ) == {"stem_files", "stem_summaries", "notes"}
    assert tables_read("SELECT * FROM range(3)") == set()
    assert tables_read("SELECT * FROM query_table('notes')") is None
