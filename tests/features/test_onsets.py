"""Onsets: click trains and note starts at known times; validation."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from features import FeatureValidationError, extract_stem_features, validate_onsets
from features.onsets import ONSET_SCHEMA
from tests.features.synthetic_signals import SR, harmonic_tone


@pytest.mark.parametrize("stem", ["drums", "bass", "vocals", "other"])
def test_click_train_onsets_within_10_ms(click_train, stem):
    x, times = click_train
    onsets = extract_stem_features(x, SR, stem).onsets
    found = onsets["time_s"].to_numpy()
    assert found.size == times.size, found
    assert np.max(np.abs(found - times)) <= 0.010
    assert onsets["strength"].min() > 0.2


def test_onsets_of_successive_notes():
    starts = [0.2, 0.7, 1.2, 1.7]
    x = np.zeros(int(2.2 * SR), dtype=np.float32)
    for k, s in enumerate(starts):
        i = int(s * SR)
        tone = harmonic_tone(110.0 * 2 ** (k / 12), 0.4)
        envelope = np.exp(-np.arange(tone.size) / (0.3 * SR))
        envelope[-int(0.03 * SR) :] *= np.linspace(1.0, 0.0, int(0.03 * SR))  # no click at the end
        x[i : i + tone.size] += (tone * envelope).astype(np.float32)
    found = extract_stem_features(x, SR, "bass").onsets["time_s"].to_numpy()
    assert found.size == len(starts)
    assert np.max(np.abs(found - starts)) <= 0.02


def _onsets(times, strength=None):
    strength = strength or [0.5] * len(times)
    frames = [round(t * 100) if np.isfinite(t) else 0 for t in times]
    return pl.DataFrame(
        {"time_s": times, "frame": frames, "strength": strength}, schema=ONSET_SCHEMA
    )


def test_validate_onsets_accepts_a_good_table():
    validate_onsets(_onsets([0.1, 0.5, 0.9]))


@pytest.mark.parametrize(
    "times, strength, match",
    [
        ([0.5, 0.1], None, "not strictly increasing"),
        ([-0.1, 0.5], None, "negative"),
        ([0.1, float("nan")], None, "NaN"),
        ([0.1, 0.2], [0.5, 2.0], "outside"),
    ],
)
def test_validate_onsets_rejects_malformed_tables(times, strength, match):
    with pytest.raises(FeatureValidationError, match=match):
        validate_onsets(_onsets(times, strength))
