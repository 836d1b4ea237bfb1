"""The bass line of a polyphonic stem: one salient note at a time in the bass register."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from features import FeatureSettings, extract_stem_features
from features.basic_pitch_model import basic_pitch_session
from features.bass_line import BASS_REGISTER_TOP_MIDI, bass_line
from features.notes import NOTE_SCHEMA
from tests.features.synthetic_signals import SR, midi_hz

#: (onset s, MIDI) of a bass line, each note 0.5 s, under a sustained triad.
BASS = [(0.5, 40), (1.0, 43), (1.5, 45), (2.0, 38), (2.5, 40)]
TRIAD = (60, 64, 67)


def _table(rows: list[tuple[float, float, int, int]]) -> pl.DataFrame:
    """A notes table of ``(onset, offset, midi, velocity)`` rows."""
    return pl.DataFrame(
        {
            "onset_s": [r[0] for r in rows],
            "offset_s": [r[1] for r in rows],
            "midi_pitch": [r[2] for r in rows],
            "f0_mean_hz": [midi_hz(r[2]) for r in rows],
            "rms_dbfs": [-20.0] * len(rows),
            "velocity": [r[3] for r in rows],
            "method": ["basic_pitch"] * len(rows),
        },
        schema=NOTE_SCHEMA,
    )


def test_ghost_octaves_and_a_kick_under_a_bass_note_go():
    notes = _table(
        [
            (0.0, 1.0, 40, 90),  # the bass note
            (0.0, 0.9, 52, 45),  # its octave, lit by the network
            (0.1, 0.2, 30, 40),  # a kick drum's thump inside it
            (0.0, 1.0, 64, 40),  # a chord note above the register: untouched
            (0.98, 2.0, 43, 85),  # the next bass note, legato (overlaps by 20 ms)
        ]
    )
    kept = bass_line(notes)
    assert kept["midi_pitch"].to_list() == [40, 64, 43]
    assert kept["onset_s"].is_sorted()


def test_the_most_salient_note_wins_not_the_lowest():
    notes = _table([(0.0, 1.0, 36, 50), (0.0, 1.0, 48, 95)])  # a sub-octave error under 48
    assert bass_line(notes)["midi_pitch"].to_list() == [48]


def test_a_line_alone_is_unchanged():
    notes = _table([(0.0, 0.5, 40, 80), (0.5, 1.0, 43, 60), (1.0, 1.5, 62, 50)])
    assert bass_line(notes).equals(notes)


def _plucked(midi: int, duration_s: float, amplitude: float) -> np.ndarray:
    """A bass-like tone: 8 harmonics, 5 ms attack, exponential decay, 10 ms release."""
    t = np.arange(int(duration_s * SR)) / SR
    x = sum(np.sin(2 * np.pi * k * midi_hz(midi) * t) / k for k in range(1, 9))
    envelope = (
        np.minimum(1.0, t / 0.005) * np.exp(-t / 0.6) * np.minimum(1.0, (duration_s - t) / 0.01)
    )
    return (amplitude * x * envelope / np.max(np.abs(x))).astype(np.float32)


@pytest.fixture(scope="module")
def bass_under_chords() -> np.ndarray:
    x = np.zeros(int(3.5 * SR), dtype=np.float32)
    for onset_s, midi in BASS:
        tone = _plucked(midi, 0.5, 0.5)
        x[round(onset_s * SR) : round(onset_s * SR) + tone.size] += tone
    t = np.arange(int(2.6 * SR)) / SR
    ramp = np.minimum(1.0, np.minimum(t, 2.6 - t) / 0.02)
    for midi in TRIAD:
        tone = sum(np.sin(2 * np.pi * k * midi_hz(midi) * t) / k**2 for k in range(1, 5))
        x[round(0.5 * SR) : round(0.5 * SR) + t.size] += (0.12 * tone * ramp).astype(np.float32)
    return x


def test_a_bass_line_under_chords_gives_the_bass_notes(bass_under_chords):
    basic_pitch_session()  # the real model, from the model cache
    notes = extract_stem_features(bass_under_chords, SR, "accompaniment").notes
    low = notes.filter(pl.col("midi_pitch") < BASS_REGISTER_TOP_MIDI)
    assert low["midi_pitch"].to_list() == [m for _, m in BASS]
    np.testing.assert_allclose(low["onset_s"], [on for on, _ in BASS], atol=0.05)
    above = notes.filter(pl.col("midi_pitch") >= BASS_REGISTER_TOP_MIDI)
    assert set(TRIAD) <= set(above["midi_pitch"])  # the chord above is left as it was


def test_stems_without_a_bass_line_keep_every_note(bass_under_chords):
    settings = FeatureSettings()
    assert settings.profile("accompaniment").note_bass_line_below == BASS_REGISTER_TOP_MIDI
    assert settings.profile("mixture").note_bass_line_below == BASS_REGISTER_TOP_MIDI
    assert settings.profile("other").note_bass_line_below is None
    all_notes = extract_stem_features(bass_under_chords, SR, "other").notes
    line = extract_stem_features(bass_under_chords, SR, "accompaniment").notes
    assert all_notes.height > line.height  # basic-pitch alone adds ghost octaves and fifths
    assert bass_line(all_notes).equals(line)
