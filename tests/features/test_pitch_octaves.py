"""Octave errors of a pitch track: the short side of an instantaneous octave jump is folded."""

from __future__ import annotations

import numpy as np

from features.pitch_octaves import fold_octave_segments
from tests.features.synthetic_signals import midi_hz


def _track(*pieces: tuple[int, float, float]) -> np.ndarray:
    """f0 in Hz of linear MIDI pieces ``(frames, from, to)``."""
    midi = np.concatenate([np.linspace(a, b, n, endpoint=False) for n, a, b in pieces])
    return np.array([midi_hz(m) for m in midi], dtype=np.float32)


def _midi(f0: np.ndarray) -> np.ndarray:
    return 69.0 + 12.0 * np.log2(f0 / 440.0)


def test_a_note_that_starts_an_octave_up_is_folded_down():
    f0 = _track((15, 69.1, 69.1), (60, 57.0, 57.2))  # 150 ms an octave (and a bit) up
    folded = fold_octave_segments(f0, np.ones(f0.size, bool))
    np.testing.assert_allclose(_midi(folded[:15]), 57.1, atol=1e-3)
    np.testing.assert_array_equal(folded[15:], f0[15:])


def test_two_octaves_and_both_ends_of_a_run():
    f0 = _track((40, 60, 60), (8, 84, 84), (40, 60, 60), (6, 48, 48))
    folded = fold_octave_segments(f0, np.ones(f0.size, bool))
    np.testing.assert_allclose(_midi(folded), 60.0, atol=1e-3)


def test_a_sung_octave_leap_with_a_glide_is_kept():
    f0 = _track((30, 57, 57), (5, 57, 69), (60, 69, 69))  # 50 ms portamento
    np.testing.assert_array_equal(fold_octave_segments(f0, np.ones(f0.size, bool)), f0)


def test_separate_runs_and_unvoiced_frames_are_left_alone():
    f0 = _track((20, 57, 57), (20, 69, 69))
    voiced = np.r_[np.ones(20), np.zeros(1), np.ones(19)].astype(bool)  # a gap at the leap
    np.testing.assert_array_equal(fold_octave_segments(f0, voiced), f0)


def test_equal_sides_are_not_guessed():
    f0 = _track((20, 57, 57), (20, 69, 69))
    np.testing.assert_array_equal(fold_octave_segments(f0, np.ones(f0.size, bool)), f0)
