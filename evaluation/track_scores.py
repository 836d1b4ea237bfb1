"""Scores of one track's stems and stem features where the truth is known.

Reference stems come from MUSDB18-style folders (files beside ``mixture.<ext>``); for a
two-stem model the accompaniment reference is the sum of every non-vocal reference
(:func:`reference_audio`), and each stem gets its global SDR against its reference
(:func:`sdr_records`). Annotations (:mod:`evaluation.annotations`) give note, f0 and drum-onset
truth (:func:`annotation_records`): vocal melody against the vocals stem's f0, vocal and bass
notes against the notes of the stem that carries them, drum onsets against the onsets of the
drums stem (or the accompaniment for two stems).

Every record is ``{"stem", "metric", "value", "reference"}``: one long-format row per metric,
``reference`` naming what the stem was compared with.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import polars as pl
import soundfile as sf

from evaluation.annotations import SongAnnotations
from evaluation.melody import melody_scores
from evaluation.onsets import onset_scores
from evaluation.separation import global_sdr
from evaluation.transcription import note_scores

MELODY_METRICS = (
    "raw_pitch_accuracy",
    "raw_chroma_accuracy",
    "overall_accuracy",
    "voicing_recall",
    "voicing_false_alarm",
)
NOTE_METRICS = ("f_measure", "f_measure_no_offset", "precision", "recall")
ONSET_METRICS = ("f_measure", "precision", "recall")


def fit_length(x: np.ndarray, n: int) -> np.ndarray:
    """``(frames, channels)`` audio as stereo of exactly ``n`` frames: mono duplicated, extra
    channels dropped, cut or padded with zeros at the end."""
    x = np.repeat(x, 2, axis=1) if x.shape[1] == 1 else x[:, :2]
    return x[:n] if len(x) >= n else np.pad(x, ((0, n - len(x)), (0, 0)))


def _read(path: str) -> np.ndarray:
    return sf.read(os.fsencode(path), dtype="float32", always_2d=True)[0]


def reference_audio(refs: Mapping[str, str], stems: list[str], n: int) -> dict[str, np.ndarray]:
    """Reference signal per stem name (of ``stems`` that have one), ``n`` stereo frames each.

    ``refs`` maps a reference stem name to its file; ``accompaniment``, when no file has that
    name, is the sum of every reference but ``vocals``."""
    loaded = {name: _read(path) for name, path in refs.items()}
    out = {}
    for stem in stems:
        if stem in loaded:
            out[stem] = loaded[stem]
        elif stem == "accompaniment":
            rest = [a for name, a in loaded.items() if name != "vocals"]
            if rest:
                out[stem] = np.sum(rest, axis=0)
    return {k: fit_length(v, n) for k, v in out.items()}


def sdr_records(refs: Mapping[str, str], stems: Mapping[str, str], n: int) -> list[dict]:
    """Global SDR (dB) of each stem file against its reference (see :func:`reference_audio`).

    Parameters
    ----------
    refs : Mapping[str, str]
        Reference stem name -> file (none: no records).
    stems : Mapping[str, str]
        Stem name -> the separated stem's file.
    n : int
        Frames both are compared over (the mixture's length).

    Returns
    -------
    list of dict
        One ``global_sdr_db`` record per stem with a reference that is not all silent (an
        all-silent reference has no defined SDR).
    """
    if not refs:
        return []
    ref_audio = reference_audio(refs, list(stems), n)
    records = []
    for stem, path in stems.items():
        if stem not in ref_audio or not np.any(ref_audio[stem]):
            continue
        records.append(
            {
                "stem": stem,
                "metric": "global_sdr_db",
                "value": global_sdr(ref_audio[stem], fit_length(_read(path), n)),
                "reference": ",".join(sorted(refs)),
            }
        )
    return records


def _scored(scores: dict, stem: str, prefix: str, metrics: tuple, reference: str) -> list[dict]:
    return [
        {"stem": stem, "metric": f"{prefix}{m}", "value": scores[m], "reference": reference}
        for m in metrics
    ]


def _carriers(stems: list[str]) -> dict[str, str | None]:
    """Annotated part -> the stem of a model with ``stems`` that carries it (None: none)."""
    return {
        "vocals": "vocals",
        "bass": "bass" if "bass" in stems else None,
        "drums": "drums" if "drums" in stems else "accompaniment",
    }


def scored_features(stems: list[str]) -> list[tuple[str, str]]:
    """The ``(kind, stem)`` feature tables :func:`annotation_records` reads for a model with
    ``stems``: the vocals' pitch, the notes of the stems carrying vocals and bass, the onsets
    of the stem carrying the drums."""
    carrier = _carriers(stems)
    notes = [("notes", stem) for part in ("vocals", "bass") if (stem := carrier[part])]
    return [("pitch", "vocals"), *notes, ("onsets", carrier["drums"])]


def annotation_records(
    truth: SongAnnotations, stems: list[str], features: Mapping[tuple[str, str], pl.DataFrame]
) -> list[dict]:
    """Feature metrics against a track's annotations.

    Parameters
    ----------
    truth : SongAnnotations
        The track's annotations.
    stems : list of str
        The model's stem names.
    features : Mapping[tuple[str, str], polars.DataFrame]
        ``(kind, stem)`` -> that feature table of the stem (those :func:`scored_features`
        names); a missing table means no score for it.

    Returns
    -------
    list of dict
        ``melody_*`` of the vocals (if the song has vocals), ``notes_<part>_*`` of vocals and
        bass, ``onsets_drums_*``: each where both the truth and the feature exist.
    """
    records: list[dict] = []
    carrier = _carriers(stems)
    vocal_f0 = truth.f0.get("vocals")
    pitch = features.get(("pitch", "vocals"))
    if vocal_f0 is not None and pitch is not None and truth.metadata.get("has_vocals"):
        ref_t = vocal_f0["time_s"].to_numpy()
        if pitch.is_empty():  # a stem judged silent: its melody is all unvoiced
            est_t, est_f0 = ref_t, np.zeros_like(ref_t)
        else:
            est_t = pitch["time_s"].to_numpy()
            est_f0 = np.where(pitch["voiced"].to_numpy() > 0, pitch["f0_hz"].to_numpy(), 0.0)
        scores = melody_scores(ref_t, vocal_f0["f0_hz"].to_numpy(), est_t, est_f0)
        records += _scored(scores, "vocals", "melody_", MELODY_METRICS, "annotations/f0_vocals.csv")
    for part in ("vocals", "bass"):
        stem, ref = carrier[part], truth.notes.get(part)
        notes = features.get(("notes", stem)) if stem else None
        if ref is None or notes is None or ref.is_empty():
            continue
        scores = note_scores(
            ref.select("onset_s", "offset_s").to_numpy(),
            ref["midi_pitch"],
            notes.select("onset_s", "offset_s").to_numpy(),
            notes["midi_pitch"],
        )
        records += _scored(
            scores, stem, f"notes_{part}_", NOTE_METRICS, f"annotations/notes_{part}.csv"
        )
    onsets = features.get(("onsets", carrier["drums"]))
    if onsets is not None and not truth.drum_onsets.is_empty():
        scores = onset_scores(truth.onset_times("drums"), onsets["time_s"].to_numpy())
        records += _scored(
            scores,
            carrier["drums"],
            "onsets_drums_",
            ONSET_METRICS,
            "annotations/onsets_drums.csv",
        )
    return records
