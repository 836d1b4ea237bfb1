"""Notes from the pitch contour: a three-note melody, vibrato, validation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from features import FeatureValidationError, extract_stem_features, validate_notes
from features.notes import NOTE_SCHEMA, velocity_from_dbfs
from tests.features.synthetic_signals import SR, harmonic_tone, midi_hz

MELODY = [(0.2, 0.6, 69), (0.8, 1.3, 72), (1.5, 1.8, 76)]


def _melody(amplitude=0.5):
    x = np.zeros(2 * SR, dtype=np.float32)
    for on, off, midi in MELODY:
        tone = harmonic_tone(midi_hz(midi), off - on, amplitude)
        x[int(on * SR) : int(on * SR) + tone.size] = tone
    return x


def test_three_note_melody_gives_three_notes():
    notes = extract_stem_features(_melody(), SR, "vocals").notes
    assert notes["midi_pitch"].to_list() == [m for _, _, m in MELODY]
    assert set(notes["method"]) == {"pitch_track"}
    np.testing.assert_allclose(notes["onset_s"], [on for on, _, _ in MELODY], atol=0.03)
    np.testing.assert_allclose(notes["offset_s"], [off for _, off, _ in MELODY], atol=0.04)
    np.testing.assert_allclose(notes["f0_mean_hz"], [midi_hz(m) for _, _, m in MELODY], rtol=0.01)


def test_vibrato_stays_one_note():
    t = np.arange(SR) / SR
    f0 = 220.0 * 2 ** (40 * np.sin(2 * np.pi * 5.5 * t) / 1200)  # +-40 cents
    x = 0.5 * np.sin(2 * np.pi * np.cumsum(f0) / SR)
    notes = extract_stem_features(x, SR, "vocals").notes
    assert notes.height == 1
    assert notes["midi_pitch"][0] == 57


def test_velocity_proxy_follows_level():
    loud = extract_stem_features(_melody(0.8), SR, "vocals").notes["velocity"].to_numpy()
    soft = extract_stem_features(_melody(0.05), SR, "vocals").notes["velocity"].to_numpy()
    assert np.all(loud > soft)
    assert velocity_from_dbfs(0.0) == 127 and velocity_from_dbfs(-90.0) == 1


def test_drum_stems_have_no_notes():
    assert extract_stem_features(_melody(), SR, "drums").notes.height == 0


def _notes(**changes):
    data = {
        "onset_s": [0.1, 0.5],
        "offset_s": [0.4, 0.9],
        "midi_pitch": [60, 62],
        "f0_mean_hz": [261.6, 293.7],
        "rms_dbfs": [-12.0, -14.0],
        "velocity": [102, 98],
        "method": ["pitch_track", "basic_pitch"],
    }
    data.update(changes)
    return pl.DataFrame(data, schema=NOTE_SCHEMA)


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"onset_s": [0.5, 0.1], "offset_s": [0.9, 0.4]}, "not sorted"),
        ({"offset_s": [0.05, 0.9]}, "offset_s must be after"),
        ({"onset_s": [-0.1, 0.5]}, "negative"),
        ({"midi_pitch": [60, 200]}, "outside"),
        ({"f0_mean_hz": [261.6, float("nan")]}, "NaN"),
        ({"method": ["pitch_track", "guess"]}, "unknown method"),
    ],
)
def test_validate_notes_rejects_malformed_tables(changes, match):
    validate_notes(_notes())
    with pytest.raises(FeatureValidationError, match=match):
        validate_notes(_notes(**changes))
