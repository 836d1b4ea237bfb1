"""The whole pipeline on demo songs: real separation, features, checks, catalogue, reruns.

What a change of model makes stale is checked on the tracks
``tests/orchestration/test_staleness.py`` processes once for its module.
"""

from __future__ import annotations

import shutil

import mido
import numpy as np
import polars as pl
import pytest

from catalogue.query import run_query
from demodata import write_demo_songs
from orchestration.definitions import build_definitions
from orchestration.pipeline import run_folder

SONG_SECONDS = 5.0


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    root = tmp_path_factory.mktemp("songs")
    write_demo_songs(root, n_songs=3, duration_s=SONG_SECONDS)
    return root


def test_full_run_then_incremental_rerun(songs, make_settings, instance, tmp_path):
    audio = tmp_path / "audio"
    shutil.copytree(songs, audio, ignore=shutil.ignore_patterns("demo_02"))
    settings = make_settings(audio)
    summary = run_folder(settings, instance=instance)
    assert len(summary.processed) == 2 and not summary.failed
    root = settings.layout.root

    tracks = run_query(root, "SELECT * FROM tracks ORDER BY path")
    assert tracks["status"].to_list() == ["ok", "ok"]
    assert tracks["duration_s"].to_list() == pytest.approx([SONG_SECONDS] * 2, abs=0.01)
    stems = run_query(root, "SELECT * FROM stems ORDER BY track_id, stem")
    assert stems.height == 4 and set(stems["stem"]) == {"vocals", "accompaniment"}
    assert all((settings.layout.root / "stems" / "2stems").glob("*/vocals.flac"))
    frames = run_query(
        root,
        """
        SELECT s.stem, s.is_silent, count(p.frame) AS n
        FROM stem_summaries s LEFT JOIN pitch_frames p USING (track_id, model, stem)
        GROUP BY s.track_id, s.stem, s.is_silent""",
    )
    assert frames.height == 4
    for stem, silent, n in frames.iter_rows():
        # 100 frames/s over the whole stem; a silent stem has no pitch rows at all.
        assert n == 0 if silent else abs(n - SONG_SECONDS * 100) <= 3, (stem, silent, n)
    sdr = run_query(root, "SELECT * FROM evaluation WHERE metric = 'global_sdr_db'")
    assert sdr.height == 4 and (sdr["value"] > 0).all()  # the stems beat silence
    # Every annotated part is scored on the stem carrying it; what was read is recorded.
    notes = run_query(root, "SELECT stem, metric FROM evaluation WHERE metric LIKE 'notes_%'")
    assert {("vocals", "notes_vocals_f_measure"), ("accompaniment", "notes_bass_f_measure"),
            ("accompaniment", "notes_chords_f_measure_no_offset")} <= set(notes.rows())  # fmt: skip
    read = run_query(root, "SELECT value FROM evaluation WHERE metric = 'annotation_files'")
    assert read["value"].to_list() == [7.0, 7.0]
    manifest = pl.read_parquet(str(root / "exports/transcription/2stems/*/manifest.parquet"))
    assert manifest.height == 4 and set(manifest["stem"]) == {"vocals", "accompaniment"}
    assert set(manifest["multitrack_path"]) == {"multitrack.mid"}  # one per track, every row
    for folder in (root / "exports/transcription/2stems").iterdir():
        midi = mido.MidiFile(folder / "multitrack.mid")
        assert [t.name for t in midi.tracks[1:]] == ["vocals", "accompaniment"]
    runs = run_query(root, "SELECT DISTINCT asset FROM runs ORDER BY asset")
    assert runs["asset"].to_list() == sorted(
        ["track_audio", "stems", "stem_features", "separation_eval", "transcription_prep"]
    )
    # Every asset check ran and passed.
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    for check_key in graph.asset_check_keys:
        record = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [check_key]
        ).get(check_key)
        assert record is not None, check_key
        evaluation = record.event.dagster_event.event_specific_data
        assert evaluation.passed, (check_key, evaluation.metadata)
        if check_key.name == "stems_sum_to_mixture":  # recorded while separating
            assert evaluation.metadata["residual_db"].value < -60

    # Every README example query runs on the catalogue.
    from catalogue.examples import EXAMPLES

    for _title, sql in EXAMPLES:
        run_query(root, sql)  # raises on any SQL error
    # The stored per-stem mean chroma is the mean of the stem's chroma frames.
    means = ", ".join(f"avg(chroma[{i}])" for i in range(1, 13))
    from_frames = run_query(
        root,
        f"SELECT track_id, stem, [{means}] AS m FROM chroma_frames GROUP BY ALL ORDER BY ALL",
    )
    stored = run_query(
        root,
        "SELECT track_id, stem, mean_chroma AS m FROM stem_summaries "
        "WHERE mean_chroma IS NOT NULL ORDER BY ALL",
    )
    assert from_frames.height > 0 and from_frames["stem"].to_list() == stored["stem"].to_list()
    np.testing.assert_allclose(
        np.array(stored["m"].to_list()), np.array(from_frames["m"].to_list()), atol=1e-6
    )

    # Nothing changed: nothing is processed again.
    again = run_folder(settings, instance=instance)
    assert again.processed == [] and len(again.skipped) == 2

    # One new song (with reference stems but without its annotations): only it is processed,
    # and its evaluation says that no annotations were readable.
    ignore = shutil.ignore_patterns("annotations")
    shutil.copytree(songs / "demo_02", audio / "demo_02", ignore=ignore)
    more = run_folder(settings, instance=instance)
    assert len(more.processed) == 1 and len(more.skipped) == 2
    assert run_query(root, "SELECT count(*) AS n FROM tracks")["n"][0] == 3
    none = run_query(root, "SELECT value, reference FROM evaluation WHERE value = 0 "
                     "AND metric = 'annotation_files'")  # fmt: skip
    assert none.rows() == [(0.0, f"none readable in {audio / 'demo_02'}")]
    # demo_02 is instrumental (its vocals reference is digital silence): its separated vocal
    # stem is recognised as silent, which the README's "instrumental tracks" query finds.
    instrumental = run_query(root, EXAMPLES[1][1])["path"].to_list()
    assert str(audio / "demo_02" / "mixture.wav") in instrumental
    # Rows are replaced, never duplicated.
    dupes = run_query(
        root, "SELECT track_id, stem, count(*) AS n FROM stem_files GROUP BY ALL HAVING n > 1"
    )
    assert dupes.is_empty()


def test_readme_lists_every_example_query():
    from pathlib import Path

    from catalogue.examples import EXAMPLES

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    for title, sql in EXAMPLES:
        assert sql in readme, title
