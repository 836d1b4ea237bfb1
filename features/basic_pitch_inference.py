"""basic-pitch posteriorgrams of a whole stem, from overlapping 2 s windows.

The model takes windows of exactly 43844 samples (172 frames of 256 samples at 22050 Hz).
A stem is cut into windows that overlap by ``2 * margin_frames`` frames: of each window's 172
output frames only the middle ``172 - 2 * margin_frames`` are kept, so every kept frame saw at
least ``margin_frames`` frames (about 174 ms for the default 15) of real context on each side.
The window step is a whole number of frames, so window ``w`` starts at sample
``(w * core - margin) * 256`` and its kept frame ``j`` is global frame ``w * core + j``: the kept
frames tile the stem exactly, each frame comes from one window, frame ``i`` is centred on
``i * 256 / 22050`` s, and nothing drifts however long the stem is. Before the first sample and
after the last the windows see zeros.

Windows are sent to the model ``batch_windows`` at a time. A caller that gates the output by
level passes the frames it will use (``needed``): windows none of whose kept frames is needed
are not run and read as probability 0 (a stem's silent stretches cost nothing). Only one batch
of audio is ever copied, so memory is the stem itself plus the posteriorgrams: per second of
audio 86 frames of 88 + 88 float32 and 264 float16 values, about 106 kB (23 MB for a 3.5 min
stem, 380 MB for an hour; note creation needs about as much again while it runs).

Notes are created from the stitched posteriorgrams of the whole stem
(:mod:`features.basic_pitch_notes`), never per window, so a note that crosses a window seam is
one note. Stitched frames next to a seam differ slightly from what another window placement
gives (each window is normalised on its own by the network: at most about 0.07 in probability
on a test signal), which the note thresholds absorb.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from features.basic_pitch_model import (
    HOP,
    INPUT_NAME,
    N_CONTOUR_BINS,
    N_PITCHES,
    OUTPUT_NAMES,
    SAMPLE_RATE,
    WINDOW_FRAMES,
    WINDOW_SAMPLES,
)

#: Frames dropped at each side of a window (context of every kept frame), as basic-pitch does.
DEFAULT_MARGIN_FRAMES = 15
#: Windows per model call. Measured on one core (30 s stem): 4 is the fastest of 2-16 layer by
#: layer and as fast as 1 on ONNX Runtime; 8 and 16 are 5-15 % slower (less stays in the caches).
DEFAULT_BATCH_WINDOWS = 4


@dataclass(frozen=True)
class Posteriors:
    """The basic-pitch posteriorgrams of one signal, on frames of 256 samples at 22050 Hz.

    Attributes
    ----------
    onset : numpy.ndarray
        ``(n_frames, 88)`` float32, note-start probability per frame and MIDI pitch 21..108.
    note : numpy.ndarray
        ``(n_frames, 88)`` float32, note-active probability.
    contour : numpy.ndarray
        ``(n_frames, 264)`` float16, pitch salience at 3 bins per semitone.
    """

    onset: np.ndarray
    note: np.ndarray
    contour: np.ndarray

    @property
    def n_frames(self) -> int:
        """Number of frames."""
        return self.note.shape[0]

    @staticmethod
    def frame_rate_hz() -> float:
        """Frames per second (22050 / 256, about 86.13)."""
        return SAMPLE_RATE / HOP

    def times_s(self) -> np.ndarray:
        """Frame-centre times in seconds."""
        return np.arange(self.n_frames) * (HOP / SAMPLE_RATE)


def n_frames_for(n_samples: int) -> int:
    """Frames covering ``n_samples`` samples: one per hop, centred on ``256 i`` for every ``i``
    with ``256 i <= n_samples``."""
    return n_samples // HOP + 1


def window_starts(n_samples: int, margin_frames: int) -> np.ndarray:
    """First sample (possibly negative) of every window covering a signal, see module doc."""
    if not 0 <= margin_frames < WINDOW_FRAMES // 2:
        limit = WINDOW_FRAMES // 2 - 1
        raise ValueError(f"margin_frames must be in 0..{limit}, got {margin_frames}")
    core = WINDOW_FRAMES - 2 * margin_frames
    n_windows = -(-n_frames_for(n_samples) // core)
    return (np.arange(n_windows) * core - margin_frames) * HOP


def _window_batch(signal: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """``(len(starts), 43844, 1)`` float32 windows of ``signal``, zeros outside it."""
    batch = np.zeros((starts.size, WINDOW_SAMPLES, 1), dtype=np.float32)
    for row, start in enumerate(starts):
        lo, hi = max(int(start), 0), min(int(start) + WINDOW_SAMPLES, signal.size)
        if hi > lo:
            batch[row, lo - start : hi - start, 0] = signal[lo:hi]
    return batch


def infer_posteriors(
    signal: np.ndarray,
    session: Any,
    *,
    margin_frames: int = DEFAULT_MARGIN_FRAMES,
    batch_windows: int = DEFAULT_BATCH_WINDOWS,
    needed: np.ndarray | None = None,
) -> Posteriors:
    """Run the model over a whole signal in overlapping windows and stitch the outputs.

    Parameters
    ----------
    signal : numpy.ndarray
        Mono audio at 22050 Hz, full scale 1.0, any length (an empty signal has one frame).
    session : object
        What computes the model: ``run(output_names, {input_name: batch})`` as an ONNX Runtime
        session has it (:func:`features.basic_pitch_model.basic_pitch_runner`).
    margin_frames : int
        Frames dropped at each side of every window (0..85).
    batch_windows : int
        Windows per ONNX Runtime call (memory: 175 kB of input per window).
    needed : numpy.ndarray, optional
        ``(n_frames,)`` bool: the frames the caller will use; windows without one are skipped
        (all their posteriors 0). Default: every frame.

    Returns
    -------
    Posteriors
        ``n_frames_for(signal.size)`` frames.
    """
    signal = np.ascontiguousarray(signal, dtype=np.float32)
    if signal.ndim != 1:
        raise ValueError(f"signal must be mono (n_samples,), got shape {signal.shape}")
    if batch_windows < 1:
        raise ValueError(f"batch_windows must be >= 1, got {batch_windows}")
    starts = window_starts(signal.size, margin_frames)
    n = n_frames_for(signal.size)
    core = WINDOW_FRAMES - 2 * margin_frames
    total = starts.size * core
    used = np.ones(total, dtype=bool)
    if needed is not None:
        if np.shape(needed) != (n,):
            raise ValueError(f"needed must have shape ({n},), got {np.shape(needed)}")
        used[:n] = needed
        used[n:] = False
    run = np.flatnonzero(used.reshape(starts.size, core).any(axis=1))
    onset = np.zeros((total, N_PITCHES), dtype=np.float32)
    note = np.zeros((total, N_PITCHES), dtype=np.float32)
    contour = np.zeros((total, N_CONTOUR_BINS), dtype=np.float16)
    names = [OUTPUT_NAMES["onset"], OUTPUT_NAMES["note"], OUTPUT_NAMES["contour"]]
    keep = slice(margin_frames, margin_frames + core)
    for first in range(0, run.size, batch_windows):
        windows = run[first : first + batch_windows]
        outputs = session.run(names, {INPUT_NAME: _window_batch(signal, starts[windows])})
        rows = (windows[:, None] * core + np.arange(core)).ravel()
        for target, values in zip((onset, note, contour), outputs, strict=True):
            target[rows] = values[:, keep].reshape(-1, values.shape[-1])
    return Posteriors(onset[:n], note[:n], contour[:n])
