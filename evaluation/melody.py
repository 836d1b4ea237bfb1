"""Melody (f0 contour) scores (mir_eval.melody).

Inputs are frame times in seconds (1-D, ascending, non-negative) and f0 in Hz of the
same length; ``f0 <= 0`` means unvoiced (a negative value is an unvoiced frame with a
pitch guess, as in mir_eval). The estimate is resampled onto the reference time grid
by mir_eval. A frame's pitch is correct within 50 cents; chroma accuracy ignores
octave errors.

Metrics (all in [0, 1]): ``raw_pitch_accuracy`` (share of reference-voiced frames with
a correct pitch estimate, whether or not the estimate says voiced),
``raw_chroma_accuracy`` (same, modulo octaves), ``overall_accuracy`` (share of all frames
with correct voicing and, where voiced, correct pitch), ``voicing_recall`` (share of
reference-voiced frames estimated voiced) and ``voicing_false_alarm`` (share of
reference-unvoiced frames estimated voiced).
"""

from __future__ import annotations

import warnings

import mir_eval
import numpy as np

from evaluation.validation import EvaluationInputError, as_times

CENT_TOLERANCE = 50.0
_KEYS = {
    "Raw Pitch Accuracy": "raw_pitch_accuracy",
    "Raw Chroma Accuracy": "raw_chroma_accuracy",
    "Overall Accuracy": "overall_accuracy",
    "Voicing Recall": "voicing_recall",
    "Voicing False Alarm": "voicing_false_alarm",
}


def _contour(times, f0_hz, name: str) -> tuple[np.ndarray, np.ndarray]:
    t = as_times(times, f"{name}_time_s")
    f = np.asarray(f0_hz, dtype=np.float64)
    if f.shape != t.shape:
        raise EvaluationInputError(f"{name}_f0_hz has shape {f.shape}, times {t.shape}")
    if not np.all(np.isfinite(f)):
        raise EvaluationInputError(f"{name}_f0_hz contains NaN or Inf")
    if t.size < 2:
        raise EvaluationInputError(f"{name} contour needs at least two frames")
    return t, f


def melody_scores(reference_time_s, reference_f0_hz, estimate_time_s, estimate_f0_hz) -> dict:
    """Melody metrics of an estimated f0 contour against a reference contour.

    Returns
    -------
    dict
        ``{task: "melody", raw_pitch_accuracy, raw_chroma_accuracy, overall_accuracy,
        voicing_recall, voicing_false_alarm, n_frames, n_reference_voiced}``. With no
        reference-voiced frame the pitch metrics are NaN.

    Examples
    --------
    >>> t = np.arange(100) * 0.01
    >>> ref = np.where(t < 0.5, 220.0, 0.0)
    >>> est = np.where(t < 0.5, 440.0, 0.0)  # octave error
    >>> s = melody_scores(t, ref, t, est)
    >>> s["raw_pitch_accuracy"], s["raw_chroma_accuracy"]
    (0.0, 1.0)
    """
    ref_t, ref_f = _contour(reference_time_s, reference_f0_hz, "reference")
    est_t, est_f = _contour(estimate_time_s, estimate_f0_hz, "estimate")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # mir_eval warns about empty voicing, reported below
        scores = mir_eval.melody.evaluate(ref_t, ref_f, est_t, est_f, cent_tolerance=CENT_TOLERANCE)
    record = {"task": "melody", **{new: float(scores[old]) for old, new in _KEYS.items()}}
    n_voiced = int(np.sum(ref_f > 0))
    if n_voiced == 0:
        for key in ("raw_pitch_accuracy", "raw_chroma_accuracy", "voicing_recall"):
            record[key] = float("nan")
    record.update(n_frames=int(ref_t.size), n_reference_voiced=n_voiced)
    return record
