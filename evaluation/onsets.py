"""Onset detection scores (mir_eval.onset).

Times are 1-D arrays of onset times in seconds, sorted ascending, non-negative. An
estimated onset matches a reference onset within +-``window_s`` (default 50 ms, the
MIREX convention), one-to-one; precision, recall and F-measure are in [0, 1].
"""

from __future__ import annotations

import mir_eval

from evaluation.validation import EvaluationInputError, as_times

DEFAULT_WINDOW_S = 0.05


def onset_scores(reference_s, estimate_s, window_s: float = DEFAULT_WINDOW_S) -> dict:
    """Onset precision/recall/F-measure.

    Parameters
    ----------
    reference_s, estimate_s : array_like
        Onset times in seconds (1-D, sorted, non-negative).
    window_s : float
        Matching tolerance in seconds on each side.

    Returns
    -------
    dict
        ``{task: "onsets", precision, recall, f_measure, n_reference, n_estimate,
        window_s}``. Empty reference and estimate give F = 1; one of them empty, F = 0.

    Examples
    --------
    >>> onset_scores([0.5, 1.0, 1.5], [0.52, 1.2])["f_measure"]
    0.4
    """
    ref = as_times(reference_s, "reference_s")
    est = as_times(estimate_s, "estimate_s")
    if window_s <= 0:
        raise EvaluationInputError(f"window_s must be positive, got {window_s}")
    if ref.size == 0 and est.size == 0:
        precision = recall = f_measure = 1.0
    elif ref.size == 0 or est.size == 0:
        precision = recall = f_measure = 0.0
    else:
        f_measure, precision, recall = mir_eval.onset.f_measure(ref, est, window=window_s)
    return {
        "task": "onsets",
        "precision": float(precision),
        "recall": float(recall),
        "f_measure": float(f_measure),
        "n_reference": int(ref.size),
        "n_estimate": int(est.size),
        "window_s": float(window_s),
    }
