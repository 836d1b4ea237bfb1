"""Scores of one track's stems and stem features where the truth is known.

Reference stems come from MUSDB18-style folders (files beside ``mixture.<ext>``); for a
two-stem model the accompaniment reference is the sum of every non-vocal reference
(:func:`reference_audio`), and each stem gets its global SDR against its reference
(:func:`sdr_records`). Annotations (:mod:`evaluation.annotations`) give note, f0 and onset
truth per part, each scored on the stem that carries the part (:mod:`evaluation.parts`) by
:func:`annotation_records`:

``notes_<part>_*``
    every part with notes: P/R/F with offsets (``f_measure``) and onset-only
    (``f_measure_no_offset``), onsets within 50 ms, pitch within 50 cents, offsets within
    ``max(50 ms, 20 %)`` of the note (:mod:`evaluation.transcription`), plus ``n_reference``
    and ``n_estimate``. A stem carrying several note parts shares its notes among them by pitch
    range (:func:`evaluation.parts.share_notes`). A part without reference notes alone on its
    stem (an instrumental song's vocals) gets only ``n_estimate``.
``melody_<part>_*``
    raw pitch / raw chroma / overall accuracy, voicing recall and false alarm of the carrier's
    ``pitch`` table against the part's f0: for ``vocals`` (the lead, also on a mixture) and for
    any other f0 part alone among the pitched parts on its stem; not for a reference without
    voiced frames.
``onsets_<part>_*``
    every part with onsets (drums): onset P/R/F within 50 ms against the carrier's onsets.

:func:`annotation_status_records` adds what was read: ``annotation_files`` (files read, with
:meth:`SongAnnotations.status` as ``reference``, e.g. ``none readable in <folder>``) and one
``annotation_unreadable`` row per file that could not be read, on stem ``mixture`` (the track).

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
from evaluation.parts import MIXTURE, carriers, pitch_range, share_notes
from evaluation.separation import global_sdr
from evaluation.transcription import note_scores

MELODY_METRICS = (
    "raw_pitch_accuracy",
    "raw_chroma_accuracy",
    "overall_accuracy",
    "voicing_recall",
    "voicing_false_alarm",
)
NOTE_METRICS = (
    "f_measure",
    "f_measure_no_offset",
    "precision",
    "recall",
    "precision_no_offset",
    "recall_no_offset",
    "n_reference",
    "n_estimate",
)
#: The part whose melody is scored on any stem that carries it (the lead line of a mix).
LEAD_PART = "vocals"
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
        {"stem": stem, "metric": f"{prefix}{m}", "value": float(scores[m]), "reference": reference}
        for m in metrics
    ]


def _pitched_parts(truth: SongAnnotations) -> set[str]:
    """Parts with reference pitches: notes, or an f0 contour with a voiced frame."""
    notes = {p for p, t in truth.notes.items() if not t.is_empty()}
    return notes | {p for p, t in truth.f0.items() if (t["f0_hz"] > 0).any()}


def _melody_parts(truth: SongAnnotations, carrier: dict[str, str]) -> dict[str, str]:
    """Part -> carrier of the f0 parts whose melody is scored (see the module)."""
    pitched = _pitched_parts(truth)
    chosen = {}
    for part in truth.f0:
        stem = carrier.get(part)
        if stem is None or not (truth.f0[part]["f0_hz"] > 0).any():
            continue
        sharing = {p for p in pitched if carrier.get(p) == stem} - {part}
        if part == LEAD_PART or not sharing:
            chosen[part] = stem
    return chosen


def _all_parts(truth: SongAnnotations) -> list[str]:
    return sorted({*truth.notes, *truth.f0, *truth.onsets})


def scored_features(truth: SongAnnotations, stems: list[str]) -> list[tuple[str, str]]:
    """The ``(kind, stem)`` feature tables :func:`annotation_records` reads for ``truth`` and a
    model with ``stems``: the pitch of the stems carrying a scored melody, the notes of the
    stems carrying note parts, the onsets of the stems carrying onset parts."""
    carrier = carriers(_all_parts(truth), stems, truth.part_stems)
    wanted = [("pitch", s) for s in _melody_parts(truth, carrier).values()]
    wanted += [("notes", carrier[p]) for p in truth.notes if p in carrier]
    wanted += [("onsets", carrier[p]) for p in truth.onsets if p in carrier]
    return list(dict.fromkeys(wanted))


def _melody_records(truth, part, stem, pitch: pl.DataFrame) -> list[dict]:
    ref = truth.f0[part]
    ref_t = ref["time_s"].to_numpy()
    if pitch.is_empty():  # a stem judged silent: its melody is all unvoiced
        est_t, est_f0 = ref_t, np.zeros_like(ref_t)
    else:
        est_t = pitch["time_s"].to_numpy()
        est_f0 = np.where(pitch["voiced"].to_numpy() > 0, pitch["f0_hz"].to_numpy(), 0.0)
    scores = melody_scores(ref_t, np.maximum(ref["f0_hz"].to_numpy(), 0.0), est_t, est_f0)
    return _scored(scores, stem, f"melody_{part}_", MELODY_METRICS, truth.source("f0", part))


def _note_records(truth, stem: str, parts: list[str], estimate: pl.DataFrame) -> list[dict]:
    ranges = {p: r for p in parts if (r := pitch_range(truth.notes[p])) is not None}
    shared = share_notes(estimate, ranges) if len(parts) > 1 else {parts[0]: estimate}
    records = []
    for part in parts:
        ref, source = truth.notes[part], truth.source("notes", part)
        if ref.is_empty():
            if len(parts) == 1:
                scores = {"n_estimate": estimate.height}
                records += _scored(scores, stem, f"notes_{part}_", ("n_estimate",), source)
            continue
        est = shared[part]
        scores = note_scores(
            ref.select("onset_s", "offset_s").to_numpy(),
            ref["midi_pitch"],
            est.select("onset_s", "offset_s").to_numpy(),
            est["midi_pitch"],
        )
        records += _scored(scores, stem, f"notes_{part}_", NOTE_METRICS, source)
    return records


def annotation_records(
    truth: SongAnnotations, stems: list[str], features: Mapping[tuple[str, str], pl.DataFrame]
) -> list[dict]:
    """Feature metrics against a track's annotations, per part (see the module).

    Parameters
    ----------
    truth : SongAnnotations
        The track's annotations.
    stems : list of str
        The model's stem names (``["mixture"]`` to score the unseparated track).
    features : Mapping[tuple[str, str], polars.DataFrame]
        ``(kind, stem)`` -> that feature table of the stem (those :func:`scored_features`
        names); a missing table means no score for it.

    Returns
    -------
    list of dict
        ``melody_<part>_*``, ``notes_<part>_*`` and ``onsets_<part>_*`` records, each where
        both the truth and the feature exist.
    """
    carrier = carriers(_all_parts(truth), stems, truth.part_stems)
    records: list[dict] = []
    for part, stem in _melody_parts(truth, carrier).items():
        if (pitch := features.get(("pitch", stem))) is not None:
            records += _melody_records(truth, part, stem, pitch)
    by_stem: dict[str, list[str]] = {}
    for part in sorted(truth.notes):
        if part in carrier:
            by_stem.setdefault(carrier[part], []).append(part)
    for stem, parts in by_stem.items():
        if (notes := features.get(("notes", stem))) is not None:
            records += _note_records(truth, stem, parts, notes)
    for part in sorted(truth.onsets):
        stem = carrier.get(part)
        onsets = features.get(("onsets", stem)) if stem else None
        if onsets is None or truth.onsets[part].is_empty():
            continue
        scores = onset_scores(truth.onset_times(part), onsets["time_s"].to_numpy())
        source = truth.source("onsets", part)
        records += _scored(scores, stem, f"onsets_{part}_", ONSET_METRICS, source)
    return records


def annotation_status_records(truth: SongAnnotations) -> list[dict]:
    """What was read of the track's annotations, as evaluation rows on stem ``mixture``:
    ``annotation_files`` (the number of files read, ``reference`` the one-line status, e.g.
    ``none readable in <folder>``) and an ``annotation_unreadable`` row per unreadable file
    (``reference``: the file and why)."""
    status = {
        "stem": MIXTURE,
        "metric": "annotation_files",
        "value": float(len(truth.files_read) if truth.has_truth else 0),
        "reference": truth.status(),
    }
    problems = [
        {"stem": MIXTURE, "metric": "annotation_unreadable", "value": 1.0, "reference": line}
        for line in truth.problems
    ]
    return [status, *problems]
