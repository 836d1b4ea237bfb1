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
"""

from evaluation.key import key_score
from evaluation.melody import melody_scores
from evaluation.onsets import onset_scores
from evaluation.records import records_frame
from evaluation.separation import bss_eval_v4, global_sdr, global_sdr_records
from evaluation.transcription import note_scores
from evaluation.validation import EvaluationInputError

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
