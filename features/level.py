"""Frame level (RMS in dBFS) on the shared grid, activity and silence.

``frame_rms_dbfs`` is the RMS of a 2048-sample window centred on each grid frame
(zero-padded at the edges), in dB relative to a full-scale sine's peak of 1.0
(``20 log10(rms)``, floored at :data:`dbfs.FLOOR_DBFS`, -120 dBFS, the floor of every level
stemline stores). A frame is *active* when it exceeds the silence threshold; a stem whose active
share is below ``min_active_ratio`` is silent.
"""

from __future__ import annotations

import numpy as np

from dbfs import FLOOR_DBFS, to_dbfs
from features.grid import FrameGrid

LEVEL_WINDOW = 2048


def frame_rms_dbfs(signal: np.ndarray, grid: FrameGrid, window: int = LEVEL_WINDOW) -> np.ndarray:
    """RMS level in dBFS of a ``window``-sample window centred on every grid frame."""
    power = np.concatenate([[0.0], np.cumsum(signal.astype(np.float64) ** 2)])
    centres = np.arange(grid.n_frames) * grid.hop_size
    lo = np.clip(centres - window // 2, 0, signal.size)
    hi = np.clip(centres + window // 2, 0, signal.size)
    mean_power = (power[hi] - power[lo]) / window
    return to_dbfs(np.sqrt(np.maximum(mean_power, 0.0)))


def active_level_dbfs(rms_dbfs: np.ndarray, active: np.ndarray) -> float:
    """Typical loud level of a stem: 95th percentile of its active frames, dBFS."""
    if not np.any(active):
        return FLOOR_DBFS
    return float(np.percentile(rms_dbfs[active], 95))


def normalise_peak(signal: np.ndarray, peak: float = 0.9) -> np.ndarray:
    """Scale a signal to a given absolute peak (silence is returned unchanged)."""
    top = float(np.max(np.abs(signal))) if signal.size else 0.0
    if top == 0.0:
        return signal
    return (signal * (peak / top)).astype(np.float32)
