"""Octave errors of a monophonic pitch track, and their repair.

A monophonic tracker's commonest error is to read the right pitch class in the wrong octave:
for a frame or two (a partial wins for an instant), or for a stretch of a note (on a separated
stem, where bleed and masking reshape the spectrum, a note can start an octave up for 150 ms
and then settle). Two repairs, applied to every voiced run of the track:

1. :func:`repair_octave_jumps`: a frame one or two octaves off the median of the
   :data:`OCTAVE_MEDIAN_FRAMES` frames around it is folded back (single-frame slips).
2. :func:`fold_octave_segments`: the run is cut where the pitch jumps by an octave (or two)
   from one frame to the next, within :data:`OCTAVE_JUMP_TOLERANCE` semitones. A voice moves
   between octaves through a glide that takes tens of milliseconds, so an instantaneous octave
   jump is the tracker changing its mind, not the music; the shorter side of the jump is
   folded onto the octave of the longer, shortest piece first, until no such jump is left.
"""

from __future__ import annotations

import itertools

import numpy as np

OCTAVE_MEDIAN_FRAMES = 9
#: Largest distance (semitones) from a whole number of octaves of an octave jump.
OCTAVE_JUMP_TOLERANCE = 1.0


def voiced_runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Half-open index ranges ``[start, stop)`` of the True runs of a boolean array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True))


def _midi(f0_hz: np.ndarray) -> np.ndarray:
    return 69.0 + 12.0 * np.log2(np.maximum(f0_hz, 1e-6) / 440.0)


def repair_octave_jumps(f0_hz: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Fold frames that sit one or two octaves off the local median of their voiced run."""
    f0 = f0_hz.astype(np.float64).copy()
    half = OCTAVE_MEDIAN_FRAMES // 2
    for start, stop in voiced_runs(voiced):
        midi = _midi(f0[start:stop])
        padded = np.pad(midi, half, mode="edge")
        windows = np.lib.stride_tricks.sliding_window_view(padded, OCTAVE_MEDIAN_FRAMES)
        median = np.median(windows, axis=1)
        octaves = np.round((median - midi) / 12.0)
        off = (octaves != 0) & (np.abs(median - midi - 12.0 * octaves) < 1.0)
        f0[start:stop][off] *= 2.0 ** octaves[off]
    return f0.astype(np.float32)


def _octave_jumps(midi: np.ndarray) -> np.ndarray:
    """Indices ``k`` where frame ``k`` is a whole number of octaves from frame ``k - 1``."""
    step = np.diff(midi)
    octaves = np.round(step / 12.0)
    return np.flatnonzero((octaves != 0) & (np.abs(step - 12.0 * octaves) < OCTAVE_JUMP_TOLERANCE))


def fold_octave_segments(f0_hz: np.ndarray, voiced: np.ndarray) -> np.ndarray:
    """Fold the short side of every frame-to-frame octave jump inside a voiced run onto the
    octave of the long side (see the module doc); other frames are unchanged.

    Examples
    --------
    >>> f0 = np.r_[np.full(15, 440.0), np.full(60, 220.0)].astype(np.float32)
    >>> fold_octave_segments(f0, np.ones(75, bool))[:3].tolist()
    [220.0, 220.0, 220.0]
    """
    f0 = f0_hz.astype(np.float64).copy()
    for start, stop in voiced_runs(voiced):
        while (jumps := _octave_jumps(_midi(f0[start:stop])) + 1).size:
            pieces = list(itertools.pairwise([0, *jumps.tolist(), stop - start]))
            lengths = [b - a for a, b in pieces]
            i = int(np.argmin(lengths))
            j = max((k for k in (i - 1, i + 1) if 0 <= k < len(pieces)), key=lengths.__getitem__)
            if lengths[i] >= lengths[j]:
                break  # equal sides: nothing says which octave is right
            a, b = pieces[i]
            inside, outside = (start + a, start + a - 1) if j < i else (start + b - 1, start + b)
            octaves = np.round((_midi(f0[outside]) - _midi(f0[inside])) / 12.0)
            f0[start + a : start + b] *= 2.0**octaves
    return f0.astype(np.float32)
