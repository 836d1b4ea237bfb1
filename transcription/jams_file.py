"""JAMS annotation file of one stem: notes, pitch contour and onsets.

Written as plain JSON in JAMS 0.3 layout (readable by ``jams.load``):

- ``file_metadata``: ``duration`` (s, the stem's length), ``title`` (track id),
  ``artist`` (empty), ``release`` (empty), ``identifiers``
  ``{track_id, stem, model}``, ``jams_version``.
- ``annotations``, each ``{namespace, data, annotation_metadata, sandbox, time: 0,
  duration}`` with ``data`` a time-sorted list of ``{time, duration, value,
  confidence}`` observations (seconds):

  ``note_midi``
      one per note; ``value`` the MIDI pitch, ``duration`` offset minus onset,
      ``confidence`` the velocity / 127. For the ``drums`` stem the notes are its drum hits
      and ``value`` is a General MIDI percussion key (:mod:`.drum_hits`); the annotation's
      ``annotation_rules`` says which (``note_rules``).
  ``pitch_contour``
      one per frame of the ``pitch`` table, unvoiced frames included; ``value``
      ``{"index": 0, "frequency": f0_hz, "voiced": bool}`` (frequency 0.0 when
      unvoiced), ``duration`` 0, ``confidence`` the pitch confidence.
  ``onset``
      one per onset; ``value`` and ``confidence`` the onset strength, ``duration`` 0.
- ``sandbox``: ``{"stemline": {"stem", "model", ...}}`` plus the MIDI voice of the stem
  when given (``midi_channel``, ``midi_program``, ``percussion``; :mod:`.general_midi`).

Annotations are always present, with empty ``data`` for a silent stem.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import polars as pl

from atomicfile import atomic_write_bytes

JAMS_VERSION = "0.3.4"
ANNOTATION_TOOLS = "stemline features (essentia), see features/"
DATA_SOURCE = "automatic estimate from a separated stem"


def _require(frame: pl.DataFrame, columns: tuple[str, ...], name: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{name} table lacks columns {missing}")


def _annotation(
    namespace: str, data: list[dict[str, Any]], duration_s: float, model: str, rules: str = ""
) -> dict[str, Any]:
    return {
        "namespace": namespace,
        "data": sorted(data, key=lambda obs: obs["time"]),
        "annotation_metadata": {
            "curator": {"name": "", "email": ""},
            "annotator": {"separation_model": model},
            "version": "",
            "corpus": "",
            "annotation_tools": ANNOTATION_TOOLS,
            "annotation_rules": rules,
            "validation": "",
            "data_source": DATA_SOURCE,
        },
        "sandbox": {},
        "time": 0.0,
        "duration": duration_s,
    }


def _finite(value: float) -> float:
    return float(value) if math.isfinite(value) else 0.0


def note_observations(notes: pl.DataFrame) -> list[dict[str, Any]]:
    """``note_midi`` observations of a note table (onset/offset in s, MIDI pitch)."""
    _require(notes, ("onset_s", "offset_s", "midi_pitch", "velocity"), "notes")
    return [
        {
            "time": float(on),
            "duration": max(0.0, float(off) - float(on)),
            "value": int(pitch),
            "confidence": min(max(int(vel), 1), 127) / 127.0,
        }
        for on, off, pitch, vel in notes.select(
            "onset_s", "offset_s", "midi_pitch", "velocity"
        ).iter_rows()
    ]


def contour_observations(pitch: pl.DataFrame) -> list[dict[str, Any]]:
    """``pitch_contour`` observations of a ``pitch`` frame table (every frame)."""
    _require(pitch, ("time_s", "f0_hz", "voiced", "confidence"), "pitch")
    rows = pitch.select("time_s", "f0_hz", "voiced", "confidence").iter_rows()
    return [
        {
            "time": float(t),
            "duration": 0.0,
            "value": {"index": 0, "frequency": max(0.0, _finite(f0)), "voiced": bool(v)},
            "confidence": _finite(c),
        }
        for t, f0, v, c in rows
    ]


def onset_observations(onsets: pl.DataFrame) -> list[dict[str, Any]]:
    """``onset`` observations of an ``onsets`` table (time in s, strength)."""
    _require(onsets, ("time_s", "strength"), "onsets")
    return [
        {"time": float(t), "duration": 0.0, "value": _finite(s), "confidence": _finite(s)}
        for t, s in onsets.select("time_s", "strength").iter_rows()
    ]


def jams_document(
    *,
    track_id: str,
    stem: str,
    model: str,
    duration_s: float,
    notes: pl.DataFrame,
    pitch: pl.DataFrame,
    onsets: pl.DataFrame,
    note_rules: str = "",
    sandbox: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JAMS document (a JSON-ready dict) of one stem's features.

    Parameters
    ----------
    track_id, stem, model : str
        Identity of the stem; stored in ``file_metadata.identifiers``.
    duration_s : float
        Length of the stem in seconds (``file_metadata.duration``).
    notes, pitch, onsets : polars.DataFrame
        Feature tables (:mod:`features.notes`, :mod:`features.pitch`,
        :mod:`features.onsets`); may be empty.
    note_rules : str, optional
        ``annotation_rules`` of the ``note_midi`` annotation: what its values mean.
    sandbox : Mapping, optional
        More JSON-ready entries of ``sandbox.stemline`` (the stem's MIDI voice).
    """
    if not (math.isfinite(duration_s) and duration_s >= 0):
        raise ValueError("duration_s must be finite and non-negative")
    return {
        "file_metadata": {
            "title": track_id,
            "artist": "",
            "release": "",
            "duration": float(duration_s),
            "identifiers": {"track_id": track_id, "stem": stem, "model": model},
            "jams_version": JAMS_VERSION,
        },
        "annotations": [
            _annotation("note_midi", note_observations(notes), duration_s, model, note_rules),
            _annotation("pitch_contour", contour_observations(pitch), duration_s, model),
            _annotation("onset", onset_observations(onsets), duration_s, model),
        ],
        "sandbox": {"stemline": {"stem": stem, "model": model, **(sandbox or {})}},
    }


def write_jams(path: Path, document: dict[str, Any]) -> Path:
    """Write a JAMS document as compact UTF-8 JSON at ``path`` (atomically)."""
    text = json.dumps(document, allow_nan=False, separators=(",", ":"))
    return atomic_write_bytes(path, text.encode("utf-8"))
