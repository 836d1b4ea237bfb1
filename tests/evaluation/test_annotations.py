"""The annotation format: files written by hand read back with their units and order; missing
files are missing parts; the demo songs' files are the same format."""

from __future__ import annotations

import json

import numpy as np
import pytest

from evaluation.annotations import has_annotations, load_annotations


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def test_hand_written_files_read_sorted_with_their_columns(tmp_path):
    ann = tmp_path / "song" / "annotations"
    _write(ann, "song.json", json.dumps({"key": "C major", "has_vocals": True}))
    _write(ann, "notes_vocals.csv", "onset_s,offset_s,midi_pitch,velocity\n1.0,1.5,64,0.5\n"
           "0.5,1.0,60,0.8\n")  # fmt: skip
    _write(ann, "f0_vocals.csv", "time_s,f0_hz\n0.0,0\n0.01,261.63\n")
    _write(ann, "onsets_drums.csv", "time_s,instrument\n0.5,snare\n0.0,kick\n0.5,kick\n")
    truth = load_annotations(tmp_path / "song")
    assert truth.metadata == {"key": "C major", "has_vocals": True}
    assert set(truth.notes) == {"vocals"} and set(truth.f0) == {"vocals"}
    assert truth.notes["vocals"]["midi_pitch"].to_list() == [60, 64]  # sorted by onset
    assert truth.f0["vocals"]["f0_hz"].to_list() == [0.0, 261.63]
    np.testing.assert_array_equal(truth.onset_times("drums"), [0.0, 0.5])  # unique, sorted
    np.testing.assert_array_equal(truth.onset_times("vocals"), [0.5, 1.0])


def test_a_track_without_annotation_files(tmp_path):
    assert not has_annotations(tmp_path)
    (tmp_path / "annotations").mkdir()
    assert has_annotations(tmp_path)
    truth = load_annotations(tmp_path)
    assert truth.metadata == {} and truth.notes == {} and truth.f0 == {}
    assert truth.drum_onsets.is_empty()


def test_demo_songs_write_the_format(tmp_path):
    from demodata import write_demo_songs

    (song,) = write_demo_songs(tmp_path, n_songs=1, seed=3, duration_s=4.0)
    truth = load_annotations(song)
    assert set(truth.notes) == {"vocals", "bass", "other"} and set(truth.f0) == {"vocals", "bass"}
    assert truth.metadata["format_version"] == 1
    assert not truth.drum_onsets.is_empty()
    hop = truth.metadata["f0_hop_s"]
    assert np.diff(truth.f0["bass"]["time_s"].to_numpy()) == pytest.approx(hop)
