"""dBFS levels: known answers of full scale, -20 dB and a sine's RMS, and digital silence (and
anything quieter) at the -120 dBFS floor, never ``-inf``."""

from __future__ import annotations

import numpy as np
import pytest

from dbfs import FLOOR_AMPLITUDE, FLOOR_DBFS, level_dbfs, to_dbfs


def test_known_levels():
    np.testing.assert_allclose(
        to_dbfs([1.0, 0.5, 0.1, 0.01]), [0.0, -6.0206, -20.0, -40.0], atol=1e-4
    )
    assert level_dbfs(0.1 / np.sqrt(2)) == pytest.approx(-23.0103, abs=1e-4)  # -20 dBFS sine's RMS


def test_silence_and_anything_quieter_is_the_floor():
    assert FLOOR_DBFS == -120.0
    np.testing.assert_allclose(FLOOR_AMPLITUDE, 1e-6)
    levels = to_dbfs(np.array([0.0, 1e-9, FLOOR_AMPLITUDE, 2e-6]))
    assert np.isfinite(levels).all()
    np.testing.assert_allclose(levels, [-120.0, -120.0, -120.0, -113.9794], atol=1e-4)
    assert level_dbfs(0.0) == FLOOR_DBFS and isinstance(level_dbfs(0.0), float)


def test_shapes_are_kept():
    assert to_dbfs(np.ones((3, 2))).shape == (3, 2)
    assert to_dbfs(1.0).shape == ()
