"""essentia's ``SpectralPeaks`` + ``HPCP`` for every frame of a spectrogram at once.

The chroma of a stem is an HPCP per grid frame (:mod:`features.chroma`). Calling essentia's two
algorithms once per frame costs about 60 us of argument conversion per frame, several times
their arithmetic, so this module computes the same two steps for all frames with numpy, as
essentia's sources define them, for the configuration stemline uses:

**Peaks** (``SpectralPeaks`` -> ``PeakDetection`` with ``interpolate``, ``orderBy="magnitude"``):
bin ``k`` is ``k * (sample_rate / 2) / (n_bins - 1)`` Hz. The scan starts at the first bin at or
above ``min_hz``; that bin is a peak (without interpolation) when it is above the next bin. After
it, every strict local maximum above ``threshold`` is a peak, its position and value refined by a
parabola through it and its neighbours; the scan stops at the first peak above ``max_hz``. Peaks
are ordered by magnitude (ties: lower frequency first) and the first ``max_peaks`` kept. A frame
with two equal neighbouring bins above ``threshold`` below ``max_hz`` (a plateau, which essentia
treats specially; not seen on real spectra) is handed to essentia. Left out: when no peak lies
above ``max_hz``, essentia also keeps a maximum at the bin before the last (near Nyquist); above
``max_hz`` it adds nothing to the HPCP, and it could only take one of the ``max_peaks`` places
of a frame with more peaks than that below ``max_hz`` and none above.

**HPCP** (``harmonics=0``, ``windowSize=1`` semitone, ``squaredCosine`` weights,
``bandPreset`` split at 500 Hz, ``normalized="unitMax"``): each peak between ``min_hz`` and
``max_hz`` adds ``cos(pi d)**2 * magnitude**2`` to the pitch-class bins ``i`` within half a
semitone of it, ``d`` its distance in semitones from ``i``; the bins are ``12 log2(f / ref)``,
bin 0 the reference (A). Peaks below 500 Hz and above go to two profiles, each scaled to a
maximum of 1, summed and scaled to a maximum of 1 again.

Values equal essentia's to float32 rounding (``tests/features/test_spectra.py``).
"""

from __future__ import annotations

import numpy as np

PCP_SIZE = 12
SPLIT_HZ = 500.0


def _unit_max(profiles: np.ndarray) -> np.ndarray:
    top = profiles.max(axis=1, keepdims=True)
    return np.divide(profiles, top, out=np.zeros_like(profiles), where=top > 0)


def spectral_peaks(
    spectra: np.ndarray,
    sample_rate: float,
    min_hz: float,
    max_hz: float,
    threshold: float,
    max_peaks: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peak frequencies and magnitudes of every frame (see the module doc).

    Returns
    -------
    frequency, magnitude : numpy.ndarray
        ``(n_frames, max_peaks)`` float32, ordered by magnitude; unused slots are 0.
    plateau : numpy.ndarray
        ``(n_frames,)`` bool: frames whose peaks must come from essentia instead.
    """
    n_frames, n_bins = spectra.shape
    scale = np.float32(sample_rate / 2.0) / np.float32(n_bins - 1)
    first = max(0, int(np.ceil(np.float32(min_hz) / scale)))
    stop = int(max_hz / scale) + 3  # bins past the last peak position that can be <= max_hz
    if not first + 3 < stop < n_bins - 2:
        raise ValueError(f"peaks between {min_hz} and {max_hz} Hz need more than {n_bins} bins")
    x = np.ascontiguousarray(spectra[:, first:stop], dtype=np.float32)
    above = x > threshold
    plateau = ((x[:, :-1] == x[:, 1:]) & above[:, :-1]).any(axis=1)
    # Strict maxima after the first bin, refined by the parabola (essentia's arithmetic: float32
    # values, the 0.5 and 0.25 factors in double).
    left, mid, right = x[:, :-2], x[:, 1:-1], x[:, 2:]
    is_peak = (left < mid) & (mid > right) & above[:, 1:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = (np.float64(0.5) * ((left - right) / (left - 2 * mid + right))).astype(np.float32)
    positions = (np.arange(first + 1, stop - 1, dtype=np.float32) + delta) * scale
    values = (mid - np.float64(0.25) * (left - right) * delta).astype(np.float32)
    is_peak &= positions <= max_hz  # the scan stops at the first peak above max_hz
    # The first bin is a peak of its own when above the next one (no interpolation).
    start_peak = (x[:, 0] > x[:, 1]) & above[:, 0]
    start_f = np.full((n_frames, 1), first * scale, dtype=np.float32)
    candidates_f = np.concatenate([start_f, positions], axis=1)
    candidates_m = np.concatenate([x[:, :1], values], axis=1)
    keep = np.concatenate([start_peak[:, None], is_peak], axis=1)
    # By magnitude, descending; a stable sort keeps the lower frequency first on ties.
    order = np.argsort(np.where(keep, -candidates_m, np.inf), axis=1, kind="stable")
    order = order[:, :max_peaks]
    taken = np.take_along_axis(keep, order, axis=1)
    frequency = np.where(taken, np.take_along_axis(candidates_f, order, axis=1), 0.0)
    magnitude = np.where(taken, np.take_along_axis(candidates_m, order, axis=1), 0.0)
    return frequency.astype(np.float32), magnitude.astype(np.float32), plateau


def hpcp(
    frequency: np.ndarray,
    magnitude: np.ndarray,
    reference_hz: float,
    min_hz: float,
    max_hz: float,
) -> np.ndarray:
    """``(n_frames, 12)`` float32 HPCP of every frame's peaks (bin 0 = the reference); see the
    module doc. Unused peak slots have magnitude 0 and add nothing."""
    n_frames = frequency.shape[0]
    if n_frames == 0:
        return np.zeros((0, PCP_SIZE), dtype=np.float32)
    used = (frequency >= min_hz) & (frequency <= max_hz) & (magnitude > 0)
    safe = np.where(used, frequency, np.float32(reference_hz)).astype(np.float32)
    pcp_bin = (np.log2(safe / np.float32(reference_hz)) * np.float32(PCP_SIZE)).astype(np.float32)
    energy = np.where(used, magnitude.astype(np.float32) ** 2, np.float32(0.0))
    band = np.where(frequency < SPLIT_HZ, 0, 1)
    frames = np.broadcast_to(np.arange(n_frames)[:, None], frequency.shape)
    left = np.ceil(pcp_bin.astype(np.float64) - 0.5).astype(np.int64)
    right = np.floor(pcp_bin.astype(np.float64) + 0.5).astype(np.int64)
    profiles = np.zeros((2, n_frames, PCP_SIZE), dtype=np.float64)
    # Each peak reaches the bins within half a semitone: one, or two when exactly half way.
    for target, reached in ((left, used), (right, used & (right != left))):
        distance = np.abs(pcp_bin - target.astype(np.float32))
        weight = np.cos(np.pi * distance.astype(np.float64)).astype(np.float32) ** 2
        contribution = np.where(reached, weight * energy, np.float32(0.0))
        index = (band * n_frames + frames) * PCP_SIZE + target % PCP_SIZE
        profiles += np.bincount(
            index.ravel(), contribution.ravel().astype(np.float64), profiles.size
        ).reshape(profiles.shape)
    profiles = _unit_max(profiles.reshape(2 * n_frames, PCP_SIZE)).reshape(2, n_frames, -1)
    return _unit_max(profiles[0] + profiles[1]).astype(np.float32)
