"""Key estimation score (mir_eval.key).

Keys are strings ``"<tonic> <mode>"`` such as ``"A minor"`` or ``"C# major"``. The MIREX
weighted score is 1 for the same key, 0.5 for a fifth, 0.3 for the relative key,
0.2 for the parallel key and 0 otherwise.
"""

from __future__ import annotations

import mir_eval

from evaluation.validation import EvaluationInputError


def key_score(reference_key: str, estimated_key: str) -> dict:
    """``{task: "key", reference_key, estimated_key, weighted_score}``.

    Examples
    --------
    >>> key_score("A minor", "C major")["weighted_score"]
    0.3
    """
    for name, key in (("reference_key", reference_key), ("estimated_key", estimated_key)):
        try:
            mir_eval.key.validate_key(key)
        except ValueError as error:
            raise EvaluationInputError(f"{name}: {error}") from error
    score = mir_eval.key.weighted_score(reference_key, estimated_key)
    return {
        "task": "key",
        "reference_key": reference_key,
        "estimated_key": estimated_key,
        "weighted_score": float(score),
    }
