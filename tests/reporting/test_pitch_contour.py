"""Pitch contour over the spectrogram: PNG decodes, contour drawn where voiced, silent case."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from features.notes import NOTE_SCHEMA
from features.pitch import empty_pitch_frames
from reporting import pitch_contour_png
from reporting.pitch_contour import CONTOUR_COLOUR, voiced_contour_midi
from tests.reporting.png_image import decode_png

SR = 44100


def contour_table(seconds: float = 2.0) -> pl.DataFrame:
    """A ``pitch``-like table: 440 Hz voiced in the first second, unvoiced after."""
    times = np.arange(int(seconds * 100) + 1) / 100
    voiced = times < 1.0
    return pl.DataFrame(
        {
            "frame": np.arange(times.size, dtype=np.int32),
            "time_s": times,
            "f0_hz": np.where(voiced, 440.0, 0.0).astype(np.float32),
            "voiced": voiced.astype(np.int8),
            "confidence": voiced.astype(np.float32),
        }
    )


def audio(seconds: float = 2.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return np.where(t < 1.0, 0.5 * np.sin(2 * np.pi * 440 * t), 0.0).astype(np.float32)


def contour_mask(pixels: np.ndarray) -> np.ndarray:
    """Pixels close to the contour colour (cyan), ``(height, width)`` bool."""
    rgb = np.array([int(CONTOUR_COLOUR[i : i + 2], 16) for i in (1, 3, 5)])
    return np.abs(pixels.astype(int) - rgb).sum(axis=2) < 60


def contour_pixels(pixels: np.ndarray) -> int:
    """Count of pixels close to the contour colour (cyan)."""
    return int(contour_mask(pixels).sum())


def test_voiced_contour_has_gaps():
    times, midi = voiced_contour_midi(contour_table())
    assert np.allclose(midi[times < 1.0], 69.0)
    assert np.isnan(midi[times >= 1.0]).all()


def test_png_with_contour_and_notes():
    notes = pl.DataFrame(
        {
            "onset_s": [0.0],
            "offset_s": [1.0],
            "midi_pitch": [69],
            "f0_mean_hz": [440.0],
            "rms_dbfs": [-6.0],
            "velocity": [114],
            "method": ["pitch_track"],
        },
        schema=NOTE_SCHEMA,
    )
    pixels = decode_png(pitch_contour_png(audio(), SR, contour_table(), notes, title="vocals"))
    assert pixels.shape[1] == 900
    # the contour's row is cyan from the left edge of the plot (x = 100 px) to 1 s of 2 s,
    # i.e. the middle of the 700 px plot area, and not beyond (unvoiced after 1 s)
    cyan = contour_mask(pixels)
    row = int(cyan.sum(axis=1).argmax())
    columns = np.flatnonzero(cyan[row])
    assert columns.min() < 110
    assert 430 < columns.max() < 470


def test_silent_stem_draws_without_contour():
    pixels = decode_png(pitch_contour_png(np.zeros(SR, np.float32), SR, empty_pitch_frames()))
    assert pixels.shape[1] == 900
    assert contour_pixels(pixels) == 0


def test_max_seconds_drops_later_frames():
    pixels = decode_png(pitch_contour_png(audio(), SR, contour_table(), max_seconds=0.5))
    assert contour_pixels(pixels) > 100
    with pytest.raises(ValueError, match="max_seconds"):
        pitch_contour_png(audio(), SR, contour_table(), max_seconds=-1)
