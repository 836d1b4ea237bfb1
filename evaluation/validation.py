"""Input checks shared by the evaluation functions.

Every metric validates its inputs first (as mir_eval does) and raises
:class:`EvaluationInputError` (a ``ValueError``) with a message naming the argument.
"""

from __future__ import annotations

import numpy as np


class EvaluationInputError(ValueError):
    """An input to an evaluation function breaks its documented contract."""


def as_times(values, name: str) -> np.ndarray:
    """1-D float array of non-negative, finite, ascending times in seconds."""
    times = np.asarray(values, dtype=np.float64)
    if times.ndim != 1:
        raise EvaluationInputError(f"{name} must be 1-D, got shape {times.shape}")
    if not np.all(np.isfinite(times)):
        raise EvaluationInputError(f"{name} contains NaN or Inf")
    if times.size and times.min() < 0:
        raise EvaluationInputError(f"{name} contains negative times")
    if np.any(np.diff(times) < 0):
        raise EvaluationInputError(f"{name} must be sorted ascending")
    return times


def as_intervals(values, name: str) -> np.ndarray:
    """``(n, 2)`` float array of ``[onset_s, offset_s]`` with ``0 <= onset < offset``."""
    intervals = np.asarray(values, dtype=np.float64)
    if intervals.size == 0:
        return intervals.reshape(0, 2)
    if intervals.ndim != 2 or intervals.shape[1] != 2:
        raise EvaluationInputError(f"{name} must have shape (n, 2), got {intervals.shape}")
    if not np.all(np.isfinite(intervals)):
        raise EvaluationInputError(f"{name} contains NaN or Inf")
    if intervals.min() < 0:
        raise EvaluationInputError(f"{name} contains negative times")
    if np.any(intervals[:, 1] <= intervals[:, 0]):
        raise EvaluationInputError(f"{name}: every offset must be after its onset")
    return intervals


def as_audio(values, name: str) -> np.ndarray:
    """``(n_samples, n_channels)`` float64 array of finite samples."""
    audio = np.asarray(values, dtype=np.float64)
    if audio.ndim == 1:
        audio = audio[:, None]
    if audio.ndim != 2 or audio.shape[0] == 0:
        raise EvaluationInputError(
            f"{name} must be (n_samples,) or (n_samples, n_channels), got {audio.shape}"
        )
    if not np.all(np.isfinite(audio)):
        raise EvaluationInputError(f"{name} contains NaN or Inf")
    return audio
