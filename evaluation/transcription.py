"""Note-level transcription scores (mir_eval.transcription).

Notes are given as intervals ``(n, 2)`` of ``[onset_s, offset_s]`` in seconds and MIDI
pitches (float or int, A4 = 69 = 440 Hz). A note matches a reference note when its
onset is within +-50 ms and its pitch within 50 cents; *with offsets* its offset must
also be within ``max(50 ms, 20 % of the reference note's duration)`` (MIREX
conventions). Matching is one-to-one.

Records carry both variants: ``precision, recall, f_measure, average_overlap_ratio``
(with offsets) and ``precision_no_offset, recall_no_offset, f_measure_no_offset,
average_overlap_ratio_no_offset`` (onset and pitch only).
"""

from __future__ import annotations

import warnings

import mir_eval
import numpy as np

from evaluation.validation import EvaluationInputError, as_intervals

ONSET_TOLERANCE_S = 0.05
PITCH_TOLERANCE_CENTS = 50.0
OFFSET_RATIO = 0.2
OFFSET_MIN_TOLERANCE_S = 0.05


def _pitches_hz(pitches_midi, n: int, name: str) -> np.ndarray:
    midi = np.asarray(pitches_midi, dtype=np.float64).reshape(-1)
    if midi.size != n:
        raise EvaluationInputError(f"{name} has {midi.size} pitches for {n} intervals")
    if not np.all(np.isfinite(midi)) or (midi.size and (midi.min() < 0 or midi.max() > 150)):
        raise EvaluationInputError(f"{name} must be finite MIDI pitches in [0, 150]")
    return 440.0 * 2.0 ** ((midi - 69.0) / 12.0)


def _prf(ref_i, ref_p, est_i, est_p, offset_ratio) -> tuple[float, float, float, float]:
    if ref_i.shape[0] == 0 and est_i.shape[0] == 0:
        return 1.0, 1.0, 1.0, 1.0
    if ref_i.shape[0] == 0 or est_i.shape[0] == 0:
        return 0.0, 0.0, 0.0, 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        p, r, f, overlap = mir_eval.transcription.precision_recall_f1_overlap(
            ref_i,
            ref_p,
            est_i,
            est_p,
            onset_tolerance=ONSET_TOLERANCE_S,
            pitch_tolerance=PITCH_TOLERANCE_CENTS,
            offset_ratio=offset_ratio,
            offset_min_tolerance=OFFSET_MIN_TOLERANCE_S,
        )
    return float(p), float(r), float(f), float(overlap)


def note_scores(reference_intervals_s, reference_midi, estimate_intervals_s, estimate_midi) -> dict:
    """Note precision/recall/F-measure with and without offsets.

    Returns
    -------
    dict
        ``{task: "notes", precision, recall, f_measure, average_overlap_ratio,
        precision_no_offset, recall_no_offset, f_measure_no_offset,
        average_overlap_ratio_no_offset, n_reference, n_estimate}``. Empty reference and
        estimate score 1; one of them empty scores 0.

    Examples
    --------
    >>> ref = [[0.0, 1.0], [1.0, 2.0]]
    >>> est = [[0.02, 0.5], [1.01, 1.98]]  # first note ends far too early
    >>> s = note_scores(ref, [60, 62], est, [60, 62])
    >>> s["f_measure_no_offset"], s["f_measure"]
    (1.0, 0.5)
    """
    ref_i = as_intervals(reference_intervals_s, "reference_intervals_s")
    est_i = as_intervals(estimate_intervals_s, "estimate_intervals_s")
    ref_p = _pitches_hz(reference_midi, ref_i.shape[0], "reference_midi")
    est_p = _pitches_hz(estimate_midi, est_i.shape[0], "estimate_midi")
    record: dict = {"task": "notes"}
    for suffix, ratio in (("", OFFSET_RATIO), ("_no_offset", None)):
        p, r, f, overlap = _prf(ref_i, ref_p, est_i, est_p, ratio)
        record.update(
            {
                f"precision{suffix}": p,
                f"recall{suffix}": r,
                f"f_measure{suffix}": f,
                f"average_overlap_ratio{suffix}": overlap,
            }
        )
    record.update(n_reference=int(ref_i.shape[0]), n_estimate=int(est_i.shape[0]))
    return record
