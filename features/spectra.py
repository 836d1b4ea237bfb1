"""Short-time spectra of a whole signal in one numpy call, cut as essentia cuts them.

Calling essentia's ``FrameGenerator``, ``Windowing`` and ``FFT``/``Spectrum`` once per frame
converts every argument between numpy and C++ vectors, and for a 1024-sample frame that
conversion costs several times the FFT itself. Here the frames, the window and the FFT of the
frame-wise features (onsets, chroma, YinFFT pitch) are one vectorised step, with exactly
essentia's conventions; only per-frame algorithms without a numpy equivalent (``PitchYinFFT``,
the rarer onset functions) are still called per frame:

- **frames** (``FrameGenerator(startFromZero=False)``): frame ``k`` covers samples
  ``k * hop - size // 2`` to ``k * hop - size // 2 + size - 1``, zeros outside the signal; a
  signal of ``n >= 1`` samples gives ``(n - 1) // hop + 2`` frames (the last one starts before
  the end of the signal);
- **window** (``Windowing(type, size)``): essentia's own window, read once from essentia so the
  coefficients and its normalisation (area scaled to 2) are identical; zero-phase, i.e. the
  windowed frame is rotated by half its length before the FFT, which changes the phase of
  every bin but not its magnitude;
- **FFT**: ``scipy.fft.rfft`` in float32, as essentia's own FFT; magnitude and phase as
  ``CartesianToPolar`` gives them (``Spectrum`` is the magnitude alone).

The results equal essentia's to float32 rounding (a few 1e-8 on unit-level spectra; see
``tests/features/test_spectra.py``).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import scipy.fft

#: Samples of frames transformed per call (bounds the scratch memory to about 100 MB).
CHUNK_SAMPLES = 6_000_000


def frame_count(n_samples: int, hop: int) -> int:
    """Number of frames ``FrameGenerator(startFromZero=False)`` cuts from ``n_samples``."""
    return (n_samples - 1) // hop + 2 if n_samples > 0 else 0


@lru_cache(maxsize=16)
def essentia_window(kind: str, size: int) -> np.ndarray:
    """essentia's ``Windowing`` window of ``size`` samples (before the zero-phase rotation)."""
    import essentia.standard as es

    window = es.Windowing(type=kind, size=size, zeroPhase=False)(np.ones(size, np.float32))
    window = np.asarray(window, dtype=np.float32)
    window.setflags(write=False)
    return window


def _frames(signal: np.ndarray, size: int, hop: int, first: int, count: int) -> np.ndarray:
    """Frames ``first .. first + count - 1`` of ``signal`` as a ``(count, size)`` array."""
    start = first * hop - size // 2
    stop = start + (count - 1) * hop + size
    lo, hi = max(start, 0), min(stop, signal.size)
    padded = np.zeros(stop - start, dtype=np.float32)
    if hi > lo:
        padded[lo - start : hi - start] = signal[lo:hi]
    return np.lib.stride_tricks.sliding_window_view(padded, size)[::hop]


def stft(
    signal: np.ndarray,
    size: int,
    hop: int,
    window: str,
    *,
    phase: bool = False,
    frames: range | None = None,
    n_bins: int | None = None,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Magnitude (and phase) spectra of every essentia frame of a mono signal.

    Parameters
    ----------
    signal : numpy.ndarray
        Mono float signal.
    size, hop : int
        Frame length and hop in samples.
    window : str
        essentia window type (``"hann"``, ``"blackmanharris62"``, ...).
    phase : bool
        Also return the phase of every bin.
    frames : range, optional
        Only these frames (step 1); default all of them.
    n_bins : int, optional
        Only the first ``n_bins`` bins of every spectrum (the lowest frequencies; a caller that
        reads only those saves the rest's magnitude and memory); default all ``size // 2 + 1``.

    Returns
    -------
    magnitude : numpy.ndarray
        ``(n_frames, n_bins)`` float32, ``n_frames`` = ``frame_count(len(signal), hop)``
        or ``len(frames)``.
    phase : numpy.ndarray or None
        Same shape, radians in ``[-pi, pi]``, when ``phase`` is true.
    """
    signal = np.ascontiguousarray(signal, dtype=np.float32)
    frames = range(frame_count(signal.size, hop)) if frames is None else frames
    coefficients = essentia_window(window, size)
    n_bins = size // 2 + 1 if n_bins is None else n_bins
    if not 0 < n_bins <= size // 2 + 1:
        raise ValueError(f"n_bins must be in 1..{size // 2 + 1}, got {n_bins}")
    magnitude = np.empty((len(frames), n_bins), dtype=np.float32)
    angle = np.empty_like(magnitude) if phase else None
    per_chunk = max(1, CHUNK_SAMPLES // size)
    for first in range(0, len(frames), per_chunk):
        count = min(per_chunk, len(frames) - first)
        windowed = _frames(signal, size, hop, frames.start + first, count) * coefficients
        if angle is not None:  # the zero-phase rotation changes the phase only
            windowed = np.roll(windowed, -(size // 2), axis=1)
        spectrum = scipy.fft.rfft(windowed, axis=1)[:, :n_bins]
        magnitude[first : first + count] = np.abs(spectrum)
        if angle is not None:
            angle[first : first + count] = np.angle(spectrum)
    return magnitude, angle
