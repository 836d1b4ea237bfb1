"""A digitally silent track through the whole pipeline: every dBFS level stored for it (the
track record, the stems table, the stem summaries) is the -120 dBFS floor, never ``-inf``, so
SQL aggregates over the level columns stay numbers."""

from __future__ import annotations

import dagster as dg
import numpy as np
import soundfile as sf

from catalogue.query import run_query
from dbfs import FLOOR_DBFS
from orchestration.pipeline import run_folder
from resources.settings import StemlineSettings


def test_a_silent_track_is_stored_at_the_floor_level_everywhere(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    sf.write(music / "silence.wav", np.zeros((2 * 44100, 2), np.int16), 44100, subtype="PCM_16")
    settings = StemlineSettings(storage_root=str(tmp_path / "data"), audio_roots=[str(music)])
    with dg.instance_for_test() as instance:
        summary = run_folder(settings, instance=instance)
    assert len(summary.processed) == 1 and not summary.failed and not summary.catalogue_error
    root = settings.layout.root

    floor = (FLOOR_DBFS, FLOOR_DBFS)
    assert run_query(root, "SELECT peak_dbfs, rms_dbfs FROM tracks").rows() == [floor]
    sql = "SELECT stem, rms_dbfs, peak_dbfs FROM stem_files ORDER BY stem"
    assert run_query(root, sql).rows() == [("accompaniment", *floor), ("vocals", *floor)]
    sql = "SELECT is_silent, rms_dbfs, peak_dbfs FROM stem_summaries"
    assert run_query(root, sql).rows() == [(True, *floor)] * 2
    sql = """SELECT avg(t.rms_dbfs), min(s.peak_dbfs), max(s.rms_dbfs) - min(s.rms_dbfs)
             FROM tracks t JOIN stem_files s USING (track_id)"""
    assert run_query(root, sql).rows() == [(FLOOR_DBFS, FLOOR_DBFS, 0.0)]
