"""Synthetic test signals with known answers (tones at exact pitches)."""

from __future__ import annotations

import numpy as np

SR = 44100


def midi_hz(midi: float) -> float:
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def harmonic_tone(
    f0: float, duration_s: float, amplitude: float = 0.5, n_harmonics: int = 6, sr: int = SR
) -> np.ndarray:
    t = np.arange(int(duration_s * sr)) / sr
    tone = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, n_harmonics + 1))
    return (amplitude * tone / np.max(np.abs(tone))).astype(np.float32)
