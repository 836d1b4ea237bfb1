"""The ``notes`` table, and note events of a monophonic stem segmented from its pitch contour.

Table ``notes`` (one row per note, sorted by onset); ``method`` says how the notes were made:
``"pitch_track"`` here, ``"basic_pitch"`` for polyphonic stems (:mod:`features.basic_pitch_notes`,
which fills the same columns from the basic-pitch model):

============  =======  ============================================================
column        type     meaning
============  =======  ============================================================
onset_s       Float64  note start, seconds (first voiced frame centre)
offset_s      Float64  note end, seconds (last voiced frame centre + one hop)
midi_pitch    Int32    rounded median of the frame pitches, MIDI (A4 = 69 at the
                       tuning reference)
f0_mean_hz    Float32  mean f0 of the note's frames, Hz
rms_dbfs      Float32  loudest frame RMS of the note, dBFS
velocity      Int32    velocity proxy 1..127: ``round(127 * (1 + rms_dbfs / 60))``,
                       clipped (0 dBFS -> 127, -60 dBFS -> 1)
method        String   ``pitch_track`` or ``basic_pitch`` (:data:`NOTE_TABLE_METHODS`)
============  =======  ============================================================

Method (documented equivalent of a pitch-contour segmentation): each voiced run of
the ``pitch`` table is split where the pitch leaves the running note's median by more
than ``note_split_cents`` for at least 3 frames (so vibrato and glides within +-60 cents
stay one note) and at detected onsets that fall inside it (repeated notes of one pitch);
pieces shorter than ``note_min_duration_s`` are dropped. essentia's
``PitchContourSegmentation`` was measured as the alternative (see README).
"""

from __future__ import annotations

import bisect
import itertools

import numpy as np
import polars as pl

from catalogue.schema import NOTE_SCHEMA
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

SPLIT_PERSISTENCE_FRAMES = 3
#: Values of the ``method`` column.
NOTE_TABLE_METHODS = ("pitch_track", "basic_pitch")
METHOD = "pitch_track"


def velocity_from_dbfs(rms_dbfs: np.ndarray | float) -> np.ndarray:
    """Velocity proxy 1..127 from a level in dBFS (0 dBFS -> 127, -60 dBFS -> 1)."""
    return np.clip(np.round(127.0 * (1.0 + np.asarray(rms_dbfs) / 60.0)), 1, 127).astype(int)


def _split_on_pitch(midi: np.ndarray, split_semitones: float) -> list[int]:
    """Relative indices where a new note starts inside one voiced run.

    A note starts at frame ``k`` when ``SPLIT_PERSISTENCE_FRAMES`` frames from ``k`` on are all
    more than ``split_semitones`` from the median of the current note so far. The median is
    kept on a sorted list of the note's values (``np.median``'s value, without sorting the
    note again at every frame).
    """
    values = midi.tolist()
    starts = [0]
    note = [values[0]] if values else []
    k = 1
    while k < len(values):
        n = len(note)
        median = note[n // 2] if n % 2 else (note[n // 2 - 1] + note[n // 2]) / 2
        ahead = values[k : k + SPLIT_PERSISTENCE_FRAMES]
        if len(ahead) == SPLIT_PERSISTENCE_FRAMES and all(
            abs(v - median) > split_semitones for v in ahead
        ):
            starts.append(k)
            note = sorted(ahead)
            k += SPLIT_PERSISTENCE_FRAMES
        else:
            bisect.insort(note, values[k])
            k += 1
    return starts


def segment_notes(
    grid: FrameGrid,
    f0_hz: np.ndarray,
    voiced: np.ndarray,
    rms_dbfs: np.ndarray,
    profile: StemProfile,
    onset_frames: np.ndarray | None = None,
    tuning_hz: float = 440.0,
) -> pl.DataFrame:
    """Segment note events from a pitch contour on the grid; returns the ``notes`` table."""
    hop_s = grid.hop_size / grid.sample_rate
    min_frames = max(1, round(profile.note_min_duration_s / hop_s))
    onset_frames = np.asarray(onset_frames if onset_frames is not None else [], dtype=int)
    edges = np.diff(np.concatenate([[0], voiced.astype(np.int8), [0]]))
    rows = []
    for start, stop in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        midi = hz_to_midi(f0_hz[start:stop], tuning_hz)
        cuts = {start + s for s in _split_on_pitch(midi, profile.note_split_cents / 100.0)}
        cuts |= {int(f) for f in onset_frames if start + min_frames <= f <= stop - min_frames}
        bounds = [*sorted(cuts), stop]
        for a, b in itertools.pairwise(bounds):
            if b - a < min_frames:
                continue
            seg_midi = hz_to_midi(f0_hz[a:b], tuning_hz)
            level = float(rms_dbfs[a:b].max())
            rows.append(
                (
                    a * hop_s,
                    b * hop_s,
                    int(np.round(np.median(seg_midi))),
                    float(f0_hz[a:b].mean()),
                    level,
                    int(velocity_from_dbfs(level)),
                    METHOD,
                )
            )
    if not rows:
        return empty_notes()
    columns = list(zip(*rows, strict=True))
    return pl.DataFrame(dict(zip(NOTE_SCHEMA, columns, strict=True)), schema=NOTE_SCHEMA)


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
