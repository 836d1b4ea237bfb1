"""Evaluation of stems and stem features against references, on mir_eval (and museval).

Each function validates its inputs and returns plain records (dicts of str/float/int)
ready for a catalogue table; ``records_frame`` turns a list of them into a polars
DataFrame.

- :func:`global_sdr`, :func:`global_sdr_records`: challenge-style global SDR (dB).
- :func:`bss_eval_v4`: BSSEval v4 SDR/SIR/SAR/ISR, median of 1 s windows (optional,
  needs museval).
- :func:`onset_scores`: onset P/R/F within +-50 ms.
- :func:`melody_scores`: raw pitch/chroma accuracy, overall accuracy, voicing recall
  and false alarm.
- :func:`note_scores`: note P/R/F with and without offsets.
- :func:`key_score`: MIREX weighted key score.

Names are imported from their module on first use, so importing one module of the package
(``evaluation.annotations`` for the ground-truth reader, say) does not import mir_eval and
scipy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from evaluation.key import key_score
    from evaluation.melody import melody_scores
    from evaluation.onsets import onset_scores
    from evaluation.records import records_frame
    from evaluation.separation import bss_eval_v4, global_sdr, global_sdr_records
    from evaluation.transcription import note_scores
    from evaluation.validation import EvaluationInputError

#: Public name -> the module that defines it.
_EXPORTS = {
    "EvaluationInputError": "evaluation.validation",
    "bss_eval_v4": "evaluation.separation",
    "global_sdr": "evaluation.separation",
    "global_sdr_records": "evaluation.separation",
    "key_score": "evaluation.key",
    "melody_scores": "evaluation.melody",
    "note_scores": "evaluation.transcription",
    "onset_scores": "evaluation.onsets",
    "records_frame": "evaluation.records",
}

__all__ = [
    "EvaluationInputError",
    "bss_eval_v4",
    "global_sdr",
    "global_sdr_records",
    "key_score",
    "melody_scores",
    "note_scores",
    "onset_scores",
    "records_frame",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (PEP 562)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'evaluation' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
