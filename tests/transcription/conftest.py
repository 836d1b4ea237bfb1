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


#: C major triad (C4 E4 G4) for 1 s from 0.2 s, then G3 alone: simultaneous notes.
TRIAD = [(0.2, 1.2, 60, 90), (0.2, 1.2, 64, 80), (0.2, 1.2, 67, 70), (1.3, 1.8, 55, 100)]
#: ``(time_s, GM key)`` of the synthetic drum pattern: kick, hat, snare, hat, twice.
DRUM_PATTERN = [(0.1 + 0.25 * i, key) for i, key in enumerate([36, 42, 38, 42] * 2)]


@pytest.fixture
def triad() -> pl.DataFrame:
    """:data:`TRIAD` in the ``notes`` schema, as basic-pitch notes (chords are rows that
    share an onset)."""
    on, off, pitch, velocity = (list(c) for c in zip(*TRIAD, strict=True))
    return pl.DataFrame(
        {
            "onset_s": on,
            "offset_s": off,
            "midi_pitch": pitch,
            "f0_mean_hz": midi_to_hz(pitch),
            "rms_dbfs": [-10.0] * len(on),
            "velocity": velocity,
            "method": ["basic_pitch"] * len(on),
        },
        schema=NOTE_SCHEMA,
    )


def _band_noise(n: int, low_hz: float, high_hz: float, rng: np.random.Generator) -> np.ndarray:
    """Seeded white noise keeping only ``low_hz <= f < high_hz``, peak 1."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / SAMPLE_RATE)
    spectrum[(freqs < low_hz) | (freqs >= high_hz)] = 0
    noise = np.fft.irfft(spectrum, n)
    return noise / np.abs(noise).max()


def drum_pattern(seconds: float = 2.2, seed: int = 5) -> np.ndarray:
    """:data:`DRUM_PATTERN` as stereo float32 audio at :data:`SAMPLE_RATE`: a decaying 55 Hz
    sine (kick, all energy under 150 Hz), 300 Hz-3 kHz noise (snare) and 7-16 kHz noise
    (closed hi-hat), 200 ms each."""
    rng = np.random.default_rng(seed)
    n = int(0.2 * SAMPLE_RATE)
    t = np.arange(n) / SAMPLE_RATE
    mono = np.zeros(int(seconds * SAMPLE_RATE))
    for start, key in DRUM_PATTERN:
        if key == 36:
            hit = 0.8 * np.sin(2 * np.pi * 55.0 * t) * np.exp(-t / 0.08)
        elif key == 38:
            hit = 0.5 * _band_noise(n, 300.0, 3000.0, rng) * np.exp(-t / 0.05)
        else:
            hit = 0.3 * _band_noise(n, 7000.0, 16000.0, rng) * np.exp(-t / 0.03)
        i = round(start * SAMPLE_RATE)
        mono[i : i + n] += hit
    return np.stack([mono, mono], axis=1).astype(np.float32)
