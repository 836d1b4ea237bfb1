"""Seeded fixtures for the feature tests."""

from __future__ import annotations

import numpy as np
import pytest

from tests.features.synthetic_signals import SR


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture
def click_train(rng):
    """2.5 s of faint noise with 5 ms noise-burst clicks at known times."""
    times = np.array([0.25, 0.6, 1.0, 1.3, 1.75, 2.2])
    x = 1e-4 * rng.standard_normal(int(2.5 * SR))
    n = int(0.005 * SR)
    for t in times:
        i = round(t * SR)
        x[i : i + n] += 0.8 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.001 * SR))
    return x.astype(np.float32), times
