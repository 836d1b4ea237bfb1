"""12-bin chroma per frame (HPCP) and a key estimate of a stem.

Table ``chroma`` (one row per grid frame):

==========  ==================  ======================================================
column      type                meaning
==========  ==================  ======================================================
frame       Int32               frame index on the shared grid
time_s      Float64             frame centre, seconds
chroma      Array(Float32, 12)  HPCP by pitch class: bin 0 = C, 1 = C#, ..., 11 = B
                                (:data:`PITCH_CLASS_NAMES`), each frame scaled so its
                                largest bin is 1; all zeros for inactive (silent) frames
==========  ==================  ======================================================

Method: 4096-sample Blackman-Harris frames centred on the grid -> magnitude spectrum
(:func:`features.spectra.stft`, essentia's framing, window and FFT in one call) -> essentia's
``SpectralPeaks`` (60 peaks, 40-5000 Hz, magnitude-ordered) ->
``HPCP`` (both computed for all frames at once as essentia defines them, :mod:`features.hpcp`;
size 12, ``referenceFrequency`` = tuning reference, 440 Hz by default, fundamentals only
(``harmonics`` 0), squared-cosine weighting, ``normalized="unitMax"``).
essentia's HPCP puts the reference (A) in bin 0; :func:`chroma_matrix` rotates it once so
every stored table, summary and view is C first. The key comes from essentia ``Key`` on the
mean chroma of active frames (``pcpSize`` 12, profile from the settings), given back in
essentia's A-first order.
"""

from __future__ import annotations

import essentia.standard as es
import numpy as np
import polars as pl

from catalogue.schema import CHROMA_BINS, CHROMA_SCHEMA
from features.grid import FrameGrid
from features.hpcp import hpcp, peak_bins, spectral_peaks
from features.spectra import stft
from features.validation import (
    FeatureValidationError,
    require_finite,
    require_non_negative,
    require_schema,
    require_sorted,
)

HPCP_HARMONICS = 0
MIN_HZ, MAX_HZ = 40.0, 5000.0
MAX_PEAKS = 60
PEAK_THRESHOLD = 1e-5
#: Grid frames analysed per step (bounds the spectrogram in memory to about 16 MB).
BLOCK_FRAMES = 2000
#: Name of each chroma bin (bin ``i`` is pitch class ``i``, 0 = C).
PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
#: Pitch class of essentia's HPCP bin 0 (its reference frequency, A).
HPCP_FIRST_PITCH_CLASS = 9


def chroma_matrix(
    signal: np.ndarray,
    grid: FrameGrid,
    active: np.ndarray,
    frame_size: int = 4096,
    tuning_hz: float = 440.0,
) -> np.ndarray:
    """HPCP chroma per grid frame, shape ``(n_frames, 12)``, bin 0 = C; zeros in inactive
    frames (which are not analysed at all)."""
    hpcp_a_first = np.zeros((grid.n_frames, CHROMA_BINS), dtype=np.float32)
    for first in range(0, grid.n_frames, BLOCK_FRAMES):
        block = range(first, min(first + BLOCK_FRAMES, grid.n_frames))
        hpcp_a_first[block.start : block.stop] = _hpcp_block(
            signal, grid, active[block.start : block.stop], block, frame_size, tuning_hz
        )
    return np.roll(hpcp_a_first, HPCP_FIRST_PITCH_CLASS, axis=1)


def _hpcp_block(
    signal: np.ndarray,
    grid: FrameGrid,
    active: np.ndarray,
    block: range,
    frame_size: int,
    tuning_hz: float,
) -> np.ndarray:
    """A-first HPCP of the grid frames ``block`` (zeros where not ``active``)."""
    out = np.zeros((len(block), CHROMA_BINS), dtype=np.float32)
    rows = np.flatnonzero(active)
    if rows.size == 0:
        return out
    # The peaks lie below MAX_HZ: only the spectra's lowest bins are kept.
    n_bins = frame_size // 2 + 1
    spectra, _ = stft(
        signal,
        frame_size,
        grid.hop_size,
        "blackmanharris62",
        frames=block,
        n_bins=peak_bins(n_bins, grid.sample_rate, MAX_HZ),
    )
    freqs, mags, plateau = spectral_peaks(
        spectra[rows], grid.sample_rate, MIN_HZ, MAX_HZ, PEAK_THRESHOLD, MAX_PEAKS, n_bins
    )
    out[rows] = hpcp(freqs, mags, tuning_hz, MIN_HZ, MAX_HZ)
    if plateau.any():  # essentia's own treatment of flat-topped peaks
        peaks = es.SpectralPeaks(
            sampleRate=grid.sample_rate,
            maxPeaks=MAX_PEAKS,
            minFrequency=MIN_HZ,
            maxFrequency=MAX_HZ,
            magnitudeThreshold=PEAK_THRESHOLD,
            orderBy="magnitude",
        )
        profile = es.HPCP(
            size=CHROMA_BINS,
            referenceFrequency=tuning_hz,
            sampleRate=grid.sample_rate,
            harmonics=HPCP_HARMONICS,
            minFrequency=MIN_HZ,
            maxFrequency=MAX_HZ,
            normalized="unitMax",
        )
        for row in rows[plateau]:
            frame = range(block.start + row, block.start + row + 1)
            spectrum, _ = stft(signal, frame_size, grid.hop_size, "blackmanharris62", frames=frame)
            out[row] = profile(*peaks(spectrum[0]))
    return out


def chroma_frames(grid: FrameGrid, chroma: np.ndarray) -> pl.DataFrame:
    """Assemble the ``chroma`` table."""
    return pl.DataFrame(
        {
            "frame": np.arange(grid.n_frames, dtype=np.int32),
            "time_s": grid.times_s(),
            "chroma": chroma.astype(np.float32),
        },
        schema=CHROMA_SCHEMA,
    )


def empty_chroma() -> pl.DataFrame:
    """A ``chroma`` table with no rows (silent stems)."""
    return pl.DataFrame(schema=CHROMA_SCHEMA)


def mean_chroma_by_pitch_class(chroma: np.ndarray) -> list[float]:
    """Mean of every chroma frame, ordered C, C#, ..., B (the ``mean_chroma`` summary column).

    Stored per stem so "which pitch classes dominate this stem" is one row per stem to read
    rather than an aggregate over every frame of the catalogue.
    """
    mean = chroma.astype(np.float32).mean(axis=0, dtype=np.float64)
    return [float(v) for v in mean]


def estimate_key(
    chroma: np.ndarray, active: np.ndarray, profile: str = "temperley"
) -> tuple[str | None, str | None, float]:
    """Key tonic name, mode (``"major"``/``"minor"``) and strength from frame chroma.

    Returns ``(None, None, 0.0)`` when no frame is active.
    """
    if not np.any(active):
        return None, None, 0.0
    mean = chroma[active].mean(axis=0).astype(np.float32)
    if mean.max() <= 0:
        return None, None, 0.0
    key = es.Key(pcpSize=CHROMA_BINS, profileType=profile)
    a_first = np.roll(mean / mean.max(), -HPCP_FIRST_PITCH_CLASS)  # essentia's bin order
    tonic, scale, strength, _ = key(a_first)
    return str(tonic), str(scale), float(strength)


def validate_chroma(frame: pl.DataFrame) -> None:
    """Check a ``chroma`` table; raise :class:`FeatureValidationError` if malformed.

    Checks the schema, non-negative sorted times, finite values and chroma in [0, 1]
    with each active frame's maximum equal to 1.
    """
    family = "chroma"
    require_schema(frame, CHROMA_SCHEMA, family)
    require_finite(frame, ["frame", "time_s"], family)
    require_non_negative(frame, "time_s", family)
    require_sorted(frame, "time_s", family, strict=True)
    values = frame["chroma"].to_numpy().reshape(-1, CHROMA_BINS)
    if not np.all(np.isfinite(values)):
        raise FeatureValidationError(f"{family}: chroma has NaN/Inf")
    if values.size and (values.min() < 0 or values.max() > 1.0 + 1e-5):
        raise FeatureValidationError(f"{family}: chroma values outside [0, 1]")
    peaks = values.max(axis=1) if values.size else values
    if np.any((peaks > 0) & (np.abs(peaks - 1.0) > 1e-4)):
        raise FeatureValidationError(f"{family}: non-zero frames must have a maximum of 1")
