"""Features of a rendered demo song's stems match its ground truth.

Tolerances (documented in features/README.md, measured there on the full demo set):
vocal/bass raw pitch accuracy >= 0.95, note F (no offset) >= 0.9, onset F >= 0.95.
"""

from __future__ import annotations

import numpy as np
import pytest

from demodata import render_song
from demodata.annotations import f0_frame, notes_frame
from evaluation import melody_scores, note_scores, onset_scores
from features import extract_stem_features


@pytest.fixture(scope="module")
def song():
    return render_song(0, seed=3, duration_s=8.0)


def _stem(song, name):
    return extract_stem_features(song.stems[name] / 32768.0, 44100, name)


@pytest.mark.parametrize("part", ["vocals", "bass"])
def test_pitch_and_notes_match_ground_truth(song, part):
    feats = _stem(song, part)
    ref = f0_frame(song.f0_per_sample[part], 44100)
    melody = melody_scores(ref["time_s"], ref["f0_hz"], feats.pitch["time_s"], feats.pitch["f0_hz"])
    assert melody["raw_pitch_accuracy"] >= 0.95
    assert melody["overall_accuracy"] >= 0.9
    notes = notes_frame(song.score.parts[part])
    scores = note_scores(
        notes.select("onset_s", "offset_s").to_numpy(),
        notes["midi_pitch"],
        feats.notes.select("onset_s", "offset_s").to_numpy(),
        feats.notes["midi_pitch"],
    )
    assert scores["f_measure_no_offset"] >= 0.9


def test_drum_onsets_match_ground_truth(song):
    feats = _stem(song, "drums")
    ref = np.unique([round(h.time_s, 6) for h in song.score.drums])
    assert onset_scores(ref, feats.onsets["time_s"])["f_measure"] >= 0.95


def test_instrumental_song_vocals_are_silent():
    song = render_song(2, seed=3, duration_s=4.0)
    assert _stem(song, "vocals").is_silent
