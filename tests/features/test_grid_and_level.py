"""Frame grid, analysis signal and level helpers (levels floored at -120 dBFS)."""

from __future__ import annotations

import numpy as np
import pytest

import dbfs
import features.level
from dbfs import FLOOR_DBFS
from features.grid import FrameGrid, analysis_signal
from features.level import active_level_dbfs, frame_rms_dbfs


def test_grid_has_100_frames_per_second_centred_on_multiples_of_10_ms():
    grid = FrameGrid.for_samples(44100 * 3)
    assert grid.n_frames == 301
    assert grid.frame_rate_hz == 100.0
    np.testing.assert_allclose(grid.times_s()[:3], [0.0, 0.01, 0.02])
    assert grid.fit(np.ones(10)).shape == (301,)
    assert grid.fit(np.ones(400)).shape == (301,)


def test_analysis_signal_downmixes_and_resamples():
    t = np.arange(22050) / 22050
    stereo = np.stack([np.sin(2 * np.pi * 100 * t), np.zeros_like(t)], axis=1)
    mono = analysis_signal(stereo, 22050)
    assert mono.dtype == np.float32
    assert abs(mono.size - 44100) <= 2
    assert abs(np.max(np.abs(mono)) - 0.5) < 0.02


@pytest.mark.parametrize(
    "bad, match",
    [
        (np.array([0.0, np.nan, 0.0]), "NaN"),
        (np.zeros((0,)), "audio must be"),
        (np.zeros((4, 2, 2)), "audio must be"),
    ],
)
def test_analysis_signal_rejects_bad_audio(bad, match):
    with pytest.raises(ValueError, match=match):
        analysis_signal(bad, 44100)


def test_frame_level_of_a_sine_is_minus_3_dbfs():
    t = np.arange(44100) / 44100
    x = np.sin(2 * np.pi * 441 * t).astype(np.float32)
    grid = FrameGrid.for_samples(x.size)
    level = frame_rms_dbfs(x, grid)
    assert abs(np.median(level[5:-5]) - (-3.01)) < 0.05
    assert level[0] < level[50]  # half-empty window at the start


def test_frame_level_of_a_minus_20_dbfs_sine_is_minus_23_01_dbfs():
    t = np.arange(44100) / 44100
    x = (0.1 * np.sin(2 * np.pi * 441 * t)).astype(np.float32)
    level = frame_rms_dbfs(x, FrameGrid.for_samples(x.size))
    np.testing.assert_allclose(level[5:-5], -23.0103, atol=0.01)


def test_digital_silence_is_the_floor_of_every_level():
    silence = np.zeros(44100, np.float32)
    grid = FrameGrid.for_samples(silence.size)
    level = frame_rms_dbfs(silence, grid)
    assert np.all(level == FLOOR_DBFS) and FLOOR_DBFS == -120.0
    assert active_level_dbfs(level, level > -50.0) == FLOOR_DBFS
    # features.level uses the one definition in dbfs, as separation does.
    assert features.level.FLOOR_DBFS is dbfs.FLOOR_DBFS
    assert features.level.to_dbfs is dbfs.to_dbfs
