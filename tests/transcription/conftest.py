"""Seeded synthetic feature tables with the schemas of :mod:`features`."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from features.grid import FrameGrid
from features.notes import NOTE_SCHEMA
from features.onsets import ONSET_SCHEMA
from features.pitch import pitch_frames

SAMPLE_RATE = 44100
DURATION_S = 2.0
# (onset_s, offset_s, midi_pitch, velocity): adjacent repeated pitch at 1.0 s on purpose
KNOWN_NOTES = [(0.10, 0.50, 69, 100), (0.50, 0.80, 69, 64), (1.00, 1.6543, 72, 127)]


def midi_to_hz(midi: np.ndarray) -> np.ndarray:
    """Frequency in Hz of MIDI pitches (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi, dtype=np.float64) - 69.0) / 12.0)


@pytest.fixture
def notes() -> pl.DataFrame:
    """Three notes in the ``notes`` schema."""
    on, off, pitch, velocity = (list(c) for c in zip(*KNOWN_NOTES, strict=True))
    return pl.DataFrame(
        {
            "onset_s": on,
            "offset_s": off,
            "midi_pitch": pitch,
            "f0_mean_hz": midi_to_hz(pitch),
            "rms_dbfs": [-12.0, -30.0, 0.0],
            "velocity": velocity,
            "method": ["pitch_track"] * len(on),
        },
        schema=NOTE_SCHEMA,
    )


@pytest.fixture
def pitch() -> pl.DataFrame:
    """A ``pitch`` table on the shared grid, voiced where the known notes are."""
    grid = FrameGrid.for_samples(int(DURATION_S * SAMPLE_RATE))
    times = grid.times_s()
    f0 = np.zeros(grid.n_frames, np.float32)
    for on, off, midi, _ in KNOWN_NOTES:
        f0[(times >= on) & (times < off)] = midi_to_hz(midi)
    voiced = f0 > 0
    rng = np.random.default_rng(7)
    confidence = np.where(voiced, rng.uniform(0.6, 1.0, f0.size), 0.0).astype(np.float32)
    rms = np.where(voiced, -12.0, -90.0).astype(np.float32)
    return pitch_frames(grid, f0, voiced, confidence, rms)


@pytest.fixture
def onsets() -> pl.DataFrame:
    """Onsets at the known note starts (strength in [0, 1])."""
    times = [n[0] for n in KNOWN_NOTES]
    return pl.DataFrame(
        {"time_s": times, "frame": [round(t * 100) for t in times], "strength": [1.0, 0.4, 0.8]},
        schema=ONSET_SCHEMA,
    )


@pytest.fixture
def stereo_tone() -> np.ndarray:
    """2 s of a 440 Hz tone, stereo ``(n, 2)`` float32, with a little seeded noise."""
    t = np.arange(int(DURATION_S * SAMPLE_RATE)) / SAMPLE_RATE
    rng = np.random.default_rng(3)
    tone = 0.5 * np.sin(2 * np.pi * 440.0 * t)
    noise = 1e-3 * rng.standard_normal((t.size, 2))
    return (tone[:, None] + noise).astype(np.float32)
