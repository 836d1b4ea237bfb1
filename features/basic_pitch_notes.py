"""Polyphonic note events of a stem from the basic-pitch posteriorgrams.

Note creation follows the description in the basic-pitch paper (Bittner et al., ICASSP 2022:
notes start at onset peaks and last while the note posteriorgram stays above a threshold, more
notes come from the note posteriorgram alone, short notes are dropped), written here from that
description; the level gate and the clearing of neighbouring semitones are stemline's:

1. **Level gate.** The network normalises each window, so faint noise reads as notes
   (:mod:`features.basic_pitch_model`). Frames whose stem level (``rms_dbfs`` of the feature
   grid, at the nearest grid frame) is below the silence threshold, or more than
   ``note_gate_db`` below the stem's active level, get onset and note probability 0 (and
   windows of such frames only are not run at all).
2. **Notes from onsets.** Every local maximum in time of the onset posteriorgram of at least
   ``note_onset_threshold`` (0.5) starts a candidate note at that frame and pitch. Candidates
   are taken latest first; each extends forward while the note posteriorgram of its pitch is at
   least ``note_frame_threshold`` (0.3), bridging at most :data:`MAX_GAP_FRAMES` frames below it.
   The frames a note takes are cleared at its pitch and at the semitones next to it (which the
   network lights for a mistuned or vibrato note), so a repeated note ends where its next strike
   begins and a note's neighbour is not read as another note.
3. **Notes without an onset.** Then the strongest remaining note probability above the frame
   threshold seeds a note extended forward and backward the same way, until none is left (a
   legato note, a note whose onset was masked by another).
4. Notes shorter than ``note_min_duration_s`` are dropped.
5. **Bass line.** On stems that carry a bass among other parts (profile
   ``note_bass_line_below``: the 2-stem accompaniment, the mixture), the notes below that pitch
   are reduced to one note at a time by salience (:mod:`features.bass_line`).
6. **Pitch.** ``midi_pitch`` is the note's pitch bin (MIDI 21..108, A4 = 440 Hz, the model's
   tuning; ``tuning_hz`` does not apply). ``f0_mean_hz`` adds the note's pitch bend: per frame the
   peak of the contour salience within two bins (2/3 semitone) of the pitch, refined by a
   parabola through the peak and its neighbours; the median over the note's frames.

The table is the ``notes`` table of :mod:`features.notes` with ``method = "basic_pitch"``:
``onset_s`` is the centre of the onset frame, ``offset_s`` the centre of the last frame above the
frame threshold (the note probability lingers a few frames after a note stops: on the seam
test's notes offsets read 17 ms late in the median, at most 80 ms), ``rms_dbfs`` the loudest
grid frame of the stem during the note (in a chord every note shares the stem's level).
``velocity`` is basic-pitch's own: 127 times the note's mean note probability, clipped to
1..127. It tells the notes of a chord apart by salience rather than level (the network
normalises every window), and it is where the model's weak extra notes show: on bright, exactly
harmonic synthetic tones the network also lights some upper partials (the octave, twelfth or
double octave of a note) as quiet notes of their own, at about half the velocity of the notes
that sound (``velocity >= 64``, a mean probability of at least 0.5, keeps the sure ones).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl
import soxr

from catalogue.schema import NOTE_SCHEMA
from features.basic_pitch_inference import infer_posteriors, n_frames_for
from features.basic_pitch_model import (
    CONTOUR_BINS_PER_SEMITONE,
    HOP,
    LOWEST_MIDI,
    SAMPLE_RATE,
    basic_pitch_runner,
)
from features.bass_line import bass_line
from features.grid import FrameGrid
from features.notes import empty_notes
from features.settings import StemProfile

#: Frames below the frame threshold a note bridges (about 128 ms, the paper's tolerance).
MAX_GAP_FRAMES = 11
METHOD = "basic_pitch"


def _extend(column: np.ndarray, start: int, step: int, threshold: float) -> int:
    """Last frame of the run from ``start`` in direction ``step`` whose frames reach
    ``threshold``, bridging up to :data:`MAX_GAP_FRAMES` frames below it."""
    last, i = start, start + step
    while 0 <= i < column.size and abs(i - last) <= MAX_GAP_FRAMES + 1:
        if column[i] >= threshold:
            last = i
        i += step
    return last


def _claim(remaining: np.ndarray, start: int, end: int, pitch: int) -> None:
    """Clear frames ``start:end`` at ``pitch`` and the semitones next to it."""
    remaining[start:end, max(pitch - 1, 0) : pitch + 2] = 0.0


def track_notes(
    onset: np.ndarray, note: np.ndarray, profile: StemProfile
) -> list[tuple[int, int, int]]:
    """Note events ``(first frame, end frame (exclusive), pitch index 0..87)`` sorted by start
    and pitch, from gated onset and note posteriorgrams (steps 2 to 4 of the module doc)."""
    min_frames = max(2, round(profile.note_min_duration_s * SAMPLE_RATE / HOP))
    frame_thr, onset_thr = profile.note_frame_threshold, profile.note_onset_threshold
    remaining = np.array(note, dtype=np.float32, copy=True)
    events = []
    before = np.vstack([np.zeros((1, onset.shape[1]), onset.dtype), onset[:-1]])
    after = np.vstack([onset[1:], np.zeros((1, onset.shape[1]), onset.dtype)])
    peaks = np.argwhere((onset >= onset_thr) & (onset > before) & (onset >= after))
    for t0, p in peaks[np.lexsort((peaks[:, 1], -peaks[:, 0]))]:
        end = _extend(remaining[:, p], t0, 1, frame_thr) + 1
        if end - t0 >= min_frames:
            _claim(remaining, t0, end, p)
            events.append((int(t0), int(end), int(p)))
    seeds = np.argwhere(remaining >= frame_thr)
    strength = remaining[seeds[:, 0], seeds[:, 1]]
    for t, p in seeds[np.argsort(-strength, kind="stable")]:
        if remaining[t, p] < frame_thr:
            continue  # taken by a note found earlier
        start = _extend(remaining[:, p], t, -1, frame_thr)
        end = _extend(remaining[:, p], t, 1, frame_thr) + 1
        _claim(remaining, start, end, p)
        if end - start >= min_frames:
            events.append((int(start), int(end), int(p)))
    return sorted(events, key=lambda event: (event[0], event[2]))


def pitch_bend(contour: np.ndarray, start: int, end: int, pitch: int) -> float:
    """Median offset in semitones of the contour peak from ``pitch``'s centre bin over frames
    ``start:end`` (within +-2/3 semitone; see the module doc)."""
    centre = CONTOUR_BINS_PER_SEMITONE * pitch + 1
    lo, hi = max(centre - 2, 0), min(centre + 3, contour.shape[1])
    block = contour[start:end, lo:hi].astype(np.float32)
    peak = np.argmax(block, axis=1)
    inner = (peak > 0) & (peak < block.shape[1] - 1)
    rows = np.arange(block.shape[0])
    left = block[rows, np.clip(peak - 1, 0, None)]
    mid = block[rows, peak]
    right = block[rows, np.clip(peak + 1, None, block.shape[1] - 1)]
    curvature = left - 2 * mid + right
    peaked = inner & (curvature < 0)
    shift = np.where(peaked, 0.5 * (left - right) / np.where(peaked, curvature, -1.0), 0.0)
    bins = lo + peak + shift - centre
    return float(np.median(bins)) / CONTOUR_BINS_PER_SEMITONE


def notes_table(
    events: list[tuple[int, int, int]],
    note: np.ndarray,
    contour: np.ndarray,
    grid: FrameGrid,
    rms_dbfs: np.ndarray,
) -> pl.DataFrame:
    """The ``notes`` table of note events, from the (gated) note posteriorgram, the contour and
    the stem's level ``rms_dbfs`` on the feature grid."""
    if not events:
        return empty_notes()
    frame_s = HOP / SAMPLE_RATE
    rows = []
    for start, end, p in events:
        onset_s, offset_s = start * frame_s, (end - 1) * frame_s
        g0 = min(round(onset_s * grid.frame_rate_hz), grid.n_frames - 1)
        g1 = min(max(round(offset_s * grid.frame_rate_hz), g0 + 1), grid.n_frames)
        level = float(rms_dbfs[g0:g1].max())
        midi = LOWEST_MIDI + p
        f0 = 440.0 * 2.0 ** ((midi + pitch_bend(contour, start, end, p) - 69) / 12.0)
        velocity = int(np.clip(round(127 * float(note[start:end, p].mean())), 1, 127))
        rows.append((onset_s, offset_s, midi, f0, level, velocity, METHOD))
    columns = list(zip(*rows, strict=True))
    return pl.DataFrame(dict(zip(NOTE_SCHEMA, columns, strict=True)), schema=NOTE_SCHEMA)


def audible_frames(
    n_frames: int, grid: FrameGrid, rms_dbfs: np.ndarray, floor_dbfs: float
) -> np.ndarray:
    """Whether each model frame is at least ``floor_dbfs`` loud on the feature grid."""
    times = np.arange(n_frames) * (HOP / SAMPLE_RATE)
    nearest = np.minimum(np.round(times * grid.frame_rate_hz).astype(int), grid.n_frames - 1)
    return rms_dbfs[nearest] >= floor_dbfs


def basic_pitch_notes(
    signal: np.ndarray,
    grid: FrameGrid,
    rms_dbfs: np.ndarray,
    level_dbfs: float,
    profile: StemProfile,
    silence_dbfs: float,
    *,
    session: Any = None,
    threads: int = 1,
) -> pl.DataFrame:
    """Polyphonic notes of one stem with basic-pitch; the ``notes`` table.

    Parameters
    ----------
    signal : numpy.ndarray
        Mono analysis signal at ``grid.sample_rate`` (resampled to 22050 Hz here).
    grid, rms_dbfs : FrameGrid, numpy.ndarray
        The feature grid and the stem's frame level on it (:mod:`features.level`).
    level_dbfs : float
        The stem's active level (:func:`features.level.active_level_dbfs`).
    profile : StemProfile
        Thresholds, minimum duration and level gate (:mod:`features.settings`).
    silence_dbfs : float
        Frames below this level are never part of a note.
    session : object, optional
        What computes the model (``run(output_names, feed)``: an ONNX Runtime session or
        :class:`features.basic_pitch_layers.LayeredBasicPitch`). Default:
        :func:`features.basic_pitch_model.basic_pitch_runner` (fetches the model on first use).
    threads : int
        ONNX Runtime threads when the default is a GPU session.

    Returns
    -------
    polars.DataFrame
        The ``notes`` table (:data:`catalogue.schema.NOTE_SCHEMA`), sorted by onset and pitch.
    """
    session = session if session is not None else basic_pitch_runner(threads)
    audio = np.asarray(soxr.resample(signal, grid.sample_rate, SAMPLE_RATE, quality="HQ"))
    floor = max(silence_dbfs, level_dbfs - profile.note_gate_db)
    audible = audible_frames(n_frames_for(audio.size), grid, rms_dbfs, floor)
    posteriors = infer_posteriors(audio.astype(np.float32), session, needed=audible)
    note = posteriors.note * audible[:, None]
    events = track_notes(posteriors.onset * audible[:, None], note, profile)
    notes = notes_table(events, note, posteriors.contour, grid, rms_dbfs)
    return (
        notes
        if profile.note_bass_line_below is None
        else bass_line(notes, profile.note_bass_line_below)
    )
