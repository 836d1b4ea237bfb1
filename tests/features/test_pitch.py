"""Pitch: known f0 of synthetic tones, level independence, repair, validation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from features import FeatureValidationError, extract_stem_features, validate_pitch
from features.pitch import repair_octave_jumps
from tests.features.synthetic_signals import SR, harmonic_tone


def _voiced_f0(features):
    pitch = features.pitch.filter(pl.col("voiced") == 1)
    return pitch["f0_hz"].to_numpy()


def test_pure_440_hz_tone_on_vocals_gives_440_hz():
    t = np.arange(SR) / SR
    feats = extract_stem_features(0.5 * np.sin(2 * np.pi * 440 * t), SR, "vocals")
    f0 = _voiced_f0(feats)
    assert f0.size > 0.9 * feats.grid.n_frames
    assert abs(np.median(f0) - 440.0) < 1.0
    assert np.all(1200 * np.abs(np.log2(f0 / 440.0)) < 10.0)  # every frame within 10 cents


@pytest.mark.parametrize(
    "stem, f0", [("bass", 55.0), ("bass", 98.0), ("vocals", 196.0), ("other", 330.0)]
)
def test_harmonic_tones_per_stem_profile(stem, f0):
    feats = extract_stem_features(harmonic_tone(f0, 1.0), SR, stem)
    voiced = _voiced_f0(feats)
    assert voiced.size > 0.7 * feats.grid.n_frames
    assert abs(np.median(voiced) - f0) < 0.01 * f0


def test_pitch_does_not_depend_on_input_level():
    loud = extract_stem_features(harmonic_tone(220.0, 1.0, amplitude=0.9), SR, "vocals")
    quiet = extract_stem_features(harmonic_tone(220.0, 1.0, amplitude=0.01), SR, "vocals")
    np.testing.assert_allclose(np.median(_voiced_f0(loud)), np.median(_voiced_f0(quiet)), atol=0.5)
    assert abs(loud.pitch["voiced"].sum() - quiet.pitch["voiced"].sum()) <= 2


def test_voicing_follows_a_tone_that_starts_and_stops_on_the_grid():
    x = np.zeros(2 * SR, dtype=np.float32)
    x[SR // 2 : SR + SR // 2] = harmonic_tone(300.0, 1.0)
    pitch = extract_stem_features(x, SR, "vocals").pitch
    voiced_times = pitch.filter(pl.col("voiced") == 1)["time_s"].to_numpy()
    assert abs(voiced_times.min() - 0.5) <= 0.03
    assert abs(voiced_times.max() - 1.5) <= 0.03


def test_octave_jumps_are_folded_back():
    f0 = np.full(30, 200.0, dtype=np.float32)
    f0[10] = 400.0
    f0[20] = 100.0
    repaired = repair_octave_jumps(f0, np.ones(30, dtype=bool))
    np.testing.assert_allclose(repaired, 200.0)


def _pitch_table(**changes):
    data = {
        "frame": [0, 1, 2],
        "time_s": [0.0, 0.01, 0.02],
        "f0_hz": [0.0, 220.0, 221.0],
        "voiced": [0, 1, 1],
        "confidence": [0.1, 0.9, 0.9],
        "rms_dbfs": [-60.0, -12, -12],
    }
    data.update(changes)
    from features.pitch import PITCH_SCHEMA

    return pl.DataFrame(data, schema=PITCH_SCHEMA)


def test_validate_pitch_accepts_a_good_table():
    validate_pitch(_pitch_table())


@pytest.mark.parametrize(
    "changes, match",
    [
        ({"time_s": [-0.01, 0.0, 0.01]}, "negative"),
        ({"time_s": [0.0, 0.02, 0.01]}, "not strictly increasing"),
        ({"f0_hz": [0.0, float("nan"), 221.0]}, "NaN"),
        ({"voiced": [1, 1, 1]}, "must match voiced"),
        ({"confidence": [0.1, 1.5, 0.9]}, "outside"),
        ({"frame": [0, 2, 3]}, "consecutive"),
    ],
)
def test_validate_pitch_rejects_malformed_tables(changes, match):
    with pytest.raises(FeatureValidationError, match=match):
        validate_pitch(_pitch_table(**changes))


def test_validate_pitch_rejects_wrong_columns():
    with pytest.raises(FeatureValidationError, match="columns"):
        validate_pitch(_pitch_table().drop("confidence"))
