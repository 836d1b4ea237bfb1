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


def peak_bins(n_bins: int, sample_rate: float, max_hz: float) -> int:
    """How many of a spectrum's ``n_bins`` lowest bins :func:`spectral_peaks` reads: those up to
    two past the last bin whose peak position can be at most ``max_hz``."""
    scale = np.float32(sample_rate / 2.0) / np.float32(n_bins - 1)
    return int(max_hz / scale) + 3


def _strongest(key: np.ndarray, count: int) -> np.ndarray:
    """Column indices of the ``count`` smallest keys of every row, in ascending key order, the
    lower index first on ties: the first ``count`` of a stable argsort of each row.

    Only the ``count`` chosen per row are sorted (a partition picks them); rows where the cut
    falls inside a run of equal keys, which a partition may cut anywhere, get the full sort.
    """
    if key.shape[1] <= count:
        return np.argsort(key, axis=1, kind="stable")
    chosen = np.argpartition(key, count - 1, axis=1)[:, :count]
    chosen.sort(axis=1)  # index order, so that the stable sort below breaks ties by index
    chosen_key = np.take_along_axis(key, chosen, axis=1)
    order = np.take_along_axis(chosen, np.argsort(chosen_key, axis=1, kind="stable"), axis=1)
    cut = chosen_key.max(axis=1, keepdims=True)
    split = np.isfinite(cut[:, 0]) & (
        np.count_nonzero(key == cut, axis=1) > np.count_nonzero(chosen_key == cut, axis=1)
    )
    if split.any():
        order[split] = np.argsort(key[split], axis=1, kind="stable")[:, :count]
    return order


def spectral_peaks(
    spectra: np.ndarray,
    sample_rate: float,
    min_hz: float,
    max_hz: float,
    threshold: float,
    max_peaks: int,
    n_bins: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peak frequencies and magnitudes of every frame (see the module doc).

    ``spectra`` may hold only the lowest bins of each spectrum (at least
    :func:`peak_bins` of them) when ``n_bins`` gives the full spectrum's bin count.

    Returns
    -------
    frequency, magnitude : numpy.ndarray
        ``(n_frames, max_peaks)`` float32, ordered by magnitude; unused slots are 0.
    plateau : numpy.ndarray
        ``(n_frames,)`` bool: frames whose peaks must come from essentia instead.
    """
    n_frames = spectra.shape[0]
    n_bins = spectra.shape[1] if n_bins is None else n_bins
    scale = np.float32(sample_rate / 2.0) / np.float32(n_bins - 1)
    first = max(0, int(np.ceil(np.float32(min_hz) / scale)))
    stop = peak_bins(n_bins, sample_rate, max_hz)
    if not first + 3 < stop < n_bins - 2 or stop > spectra.shape[1]:
        raise ValueError(f"peaks between {min_hz} and {max_hz} Hz need more than {n_bins} bins")
    x = np.ascontiguousarray(spectra[:, first:stop], dtype=np.float32)
    above = x > threshold
    plateau = ((x[:, :-1] == x[:, 1:]) & above[:, :-1]).any(axis=1)
    # Candidates: the first bin, a peak of its own when above the next one (no interpolation),
    # and the strict maxima after it, refined by the parabola (essentia's arithmetic: float32
    # values, the 0.5 and 0.25 factors in double), computed at the maxima only.
    left, mid, right = x[:, :-2], x[:, 1:-1], x[:, 2:]
    is_peak = (left < mid) & (mid > right) & above[:, 1:-1]
    is_peak = np.concatenate([((x[:, 0] > x[:, 1]) & above[:, 0])[:, None], is_peak], axis=1)
    rows, cols = np.nonzero(is_peak)  # row by row, each row's candidates by frequency
    at_start = cols == 0
    inner = np.where(at_start, 1, cols)  # any valid bin for the start candidates, replaced below
    lo, mi, hi = x[rows, inner - 1], x[rows, inner], x[rows, inner + 1]
    with np.errstate(divide="ignore", invalid="ignore"):  # only where replaced below
        delta = (np.float64(0.5) * ((lo - hi) / (lo - 2 * mi + hi))).astype(np.float32)
    positions = ((first + inner).astype(np.float32) + delta) * scale
    values = (mi - np.float64(0.25) * (lo - hi) * delta).astype(np.float32)
    positions = np.where(at_start, np.float32(first * scale), positions)
    values = np.where(at_start, x[rows, 0], values)
    inside = at_start | (positions <= max_hz)  # the scan stops at the first peak above max_hz
    rows, positions, values = rows[inside], positions[inside], values[inside]
    # Pack each frame's candidates to the left of a (frames, most candidates) table.
    counts = np.bincount(rows, minlength=n_frames)
    slots = np.arange(rows.size) - np.repeat(np.cumsum(counts) - counts, counts)
    width = max(int(counts.max(initial=0)), 1)
    key = np.full((n_frames, width), np.inf, dtype=np.float32)
    packed_f = np.zeros((n_frames, width), dtype=np.float32)
    packed_m = np.zeros((n_frames, width), dtype=np.float32)
    key[rows, slots], packed_f[rows, slots], packed_m[rows, slots] = -values, positions, values
    order = _strongest(key, max_peaks)
    frequency = np.take_along_axis(packed_f, order, axis=1)
    magnitude = np.take_along_axis(packed_m, order, axis=1)
    if width < max_peaks:
        pad = ((0, 0), (0, max_peaks - width))
        frequency, magnitude = np.pad(frequency, pad), np.pad(magnitude, pad)
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
