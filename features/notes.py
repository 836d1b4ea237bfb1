"""The ``notes`` table, and note events of a monophonic stem segmented from its pitch contour.

Table ``notes`` (one row per note, sorted by onset); ``method`` says how the notes were made:
``"pitch_track"`` here, ``"basic_pitch"`` for polyphonic stems (:mod:`features.basic_pitch_notes`,
which fills the same columns from the basic-pitch model):

============  =======  ============================================================
column        type     meaning
============  =======  ============================================================
onset_s       Float64  note start, seconds (centre of the note's first frame)
offset_s      Float64  note end, seconds (last frame centre + one hop)
midi_pitch    Int32    rounded median pitch of the note's core frames, MIDI (A4 = 69
                       at the tuning reference)
f0_mean_hz    Float32  mean f0 of the note's voiced core frames, Hz
rms_dbfs      Float32  loudest frame RMS of the note, dBFS
velocity      Int32    velocity proxy 1..127: ``round(127 * (1 + rms_dbfs / 60))``,
                       clipped (0 dBFS -> 127, -60 dBFS -> 1)
method        String   ``pitch_track`` or ``basic_pitch`` (:data:`NOTE_TABLE_METHODS`)
============  =======  ============================================================

Method: the voiced frames of the ``pitch`` table are cut into notes by
:mod:`features.contour_notes` (pitch changes beyond ``note_split_cents``, a note starting where
its glide starts, transitions shorter than ``note_min_duration_s`` joined to the note they lead
into or end, attacks trimmed of low-confidence frames), then, where the profile says so, at
detected onsets inside a note (repeated notes of one pitch). A note's *core* is its longest
steady piece, so a scoop or portamento moves its onset but not its pitch.
"""

from __future__ import annotations

import itertools

import numpy as np
import polars as pl

from catalogue.schema import NOTE_SCHEMA
from features.contour_notes import ContourRules, Span, contour_spans
from features.grid import FrameGrid
from features.pitch import hz_to_midi
from features.settings import StemProfile
from features.validation import (
    FeatureValidationError,
    require_finite,
    require_non_negative,
    require_range,
    require_schema,
    require_sorted,
)

#: Values of the ``method`` column.
NOTE_TABLE_METHODS = ("pitch_track", "basic_pitch")
METHOD = "pitch_track"


def velocity_from_dbfs(rms_dbfs: np.ndarray | float) -> np.ndarray:
    """Velocity proxy 1..127 from a level in dBFS (0 dBFS -> 127, -60 dBFS -> 1)."""
    return np.clip(np.round(127.0 * (1.0 + np.asarray(rms_dbfs) / 60.0)), 1, 127).astype(int)


def segment_notes(
    grid: FrameGrid,
    f0_hz: np.ndarray,
    voiced: np.ndarray,
    rms_dbfs: np.ndarray,
    profile: StemProfile,
    onset_frames: np.ndarray | None = None,
    tuning_hz: float = 440.0,
    confidence: np.ndarray | None = None,
) -> pl.DataFrame:
    """Segment note events from a pitch contour on the grid; returns the ``notes`` table.

    Parameters
    ----------
    grid : FrameGrid
    f0_hz, voiced, rms_dbfs : numpy.ndarray
        The stem's pitch track and frame level on ``grid`` (:mod:`features.pitch`).
    profile : StemProfile
        ``note_*`` fields: split threshold, minimum duration, glide, gap and attack rules.
    onset_frames : numpy.ndarray, optional
        Grid frames of detected onsets; notes are also cut there.
    tuning_hz : float
        Frequency of A4 for the MIDI numbers.
    confidence : numpy.ndarray, optional
        The tracker's confidence per frame, for the attack rule (none without it).
    """
    hop_s = grid.hop_size / grid.sample_rate
    min_frames = max(1, round(profile.note_min_duration_s / hop_s))
    onset_frames = np.asarray(onset_frames if onset_frames is not None else [], dtype=int)
    midi = np.where(voiced, hz_to_midi(np.where(voiced, f0_hz, tuning_hz), tuning_hz), 0.0)
    rules = ContourRules(
        split_semitones=profile.note_split_cents / 100.0,
        min_frames=min_frames,
        max_glide_frames=round(profile.note_max_glide_s / hop_s),
        attack_ratio=profile.note_attack_ratio,
        max_gap_frames=round(profile.note_max_gap_s / hop_s),
    )
    spans = contour_spans(midi, voiced, rules, confidence)
    rows = []
    for a, b, core_a, core_b in _split_at_onsets(spans, onset_frames, min_frames):
        core = np.arange(core_a, core_b)
        core = core[voiced[core]] if voiced[core].any() else core
        level = float(rms_dbfs[a:b].max())
        rows.append(
            (
                a * hop_s,
                b * hop_s,
                int(np.round(np.median(midi[core]))),
                float(f0_hz[core].mean()),
                level,
                int(velocity_from_dbfs(level)),
                METHOD,
            )
        )
    if not rows:
        return empty_notes()
    columns = list(zip(*rows, strict=True))
    return pl.DataFrame(dict(zip(NOTE_SCHEMA, columns, strict=True)), schema=NOTE_SCHEMA)


def _split_at_onsets(spans: list[Span], onsets: np.ndarray, min_frames: int) -> list[Span]:
    """Cut notes at onsets inside them (repeated notes of one pitch), leaving no piece shorter
    than ``min_frames``; each piece keeps the part of the core it overlaps as its core."""
    out = []
    for a, b, core_a, core_b in spans:
        inner = [int(f) for f in onsets if a + min_frames <= f <= b - min_frames]
        bounds = [a]
        for f in inner:
            if f - bounds[-1] >= min_frames:
                bounds.append(f)
        for x, y in itertools.pairwise([*bounds, b]):
            ca, cb = max(x, core_a), min(y, core_b)
            out.append((x, y, ca, cb) if cb > ca else (x, y, x, y))
    return out


def empty_notes() -> pl.DataFrame:
    """A ``notes`` table with no rows (silent or polyphonic stems)."""
    return pl.DataFrame(schema=NOTE_SCHEMA)


def validate_notes(frame: pl.DataFrame) -> None:
    """Check a ``notes`` table; raise :class:`FeatureValidationError` if malformed.

    Checks the schema, finite values, non-negative onsets sorted ascending, offsets
    after onsets, MIDI pitch in 0..127, positive f0, velocity in 1..127 and a known
    ``method``.
    """
    family = "notes"
    require_schema(frame, NOTE_SCHEMA, family)
    require_finite(frame, list(NOTE_SCHEMA), family)
    require_non_negative(frame, "onset_s", family)
    require_sorted(frame, "onset_s", family)
    bad = frame["offset_s"].to_numpy() <= frame["onset_s"].to_numpy()
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise FeatureValidationError(f"{family}: offset_s must be after onset_s (row {row})")
    require_range(frame, "midi_pitch", 0, 127, family)
    require_range(frame, "velocity", 1, 127, family)
    if frame.height and frame["f0_mean_hz"].min() <= 0:
        raise FeatureValidationError(f"{family}: f0_mean_hz must be positive")
    unknown = set(frame["method"].unique().to_list()) - set(NOTE_TABLE_METHODS)
    if unknown:
        raise FeatureValidationError(f"{family}: unknown method {sorted(map(str, unknown))}")
