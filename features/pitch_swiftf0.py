"""SwiftF0: a small neural f0 tracker (ONNX), put on stemline's 100 frames/s grid.

SwiftF0 (Nieradzik 2025, arXiv:2508.18440; ``swift-f0`` 0.3.0, MIT) is a 14k-parameter
convolutional network that reads the pitch from a spectrogram of 16 kHz mono audio. The ONNX
graph includes its STFT front end: it takes the raw samples and a search band
``[fmin, fmax]`` (within 46.875-2093.75 Hz) and returns, for every 256-sample hop (16 ms),
a pitch in Hz and a confidence in [0, 1], calibrated so that 0.5 separates voiced from
unvoiced; a frame whose best pitch is outside the band gets confidence 0. Frame ``j`` is
centred on sample ``256 j`` (time ``0.016 j``; checked on a chirp, see tests), and a
signal of ``n`` samples has ``n // 256`` frames (at least one).

What this module adds around the network:

- **level**: the network does not normalise the level, and its confidence drops on quiet
  input (a 220 Hz tone: 0.95 at a peak of 0.5, 0.72 at 0.05). The stem is scaled by one gain
  so that its active level (95th percentile of the frame RMS,
  :func:`features.level.active_level_dbfs`) sits at ``TARGET_LEVEL_DBFS``, at most up to a
  peak of 1.0; one gain for the whole stem keeps quiet bleed quiet relative to the voice.
  (On the separated demo vocals -6 dBFS gave note F 0.38 against 0.35 at -20 dBFS.)
- **batched inference**: the graph's batch dimension is fixed at 1, so frames are batched
  along time: one call per ``CHUNK_FRAMES`` (30 s) window, each with ``CONTEXT_FRAMES`` of
  audio either side, more than the network's receptive field (2815 samples, 11 frames), so
  chunking changes no frame (tests compare it with one call over the whole signal).
- **grid**: model frames (16 ms) are mapped to the grid's frame centres (10 ms): confidence
  is interpolated linearly; f0 is interpolated in log frequency between the two neighbouring
  frames when they are within a semitone of each other (glides, vibrato), else taken from the
  nearer frame (note changes stay sharp).

The voicing decision (confidence threshold, activity and level gate) is made in
:mod:`features.pitch`, as for the other monophonic methods.
"""

from __future__ import annotations

import numpy as np
import soxr

from features.grid import FrameGrid

MODEL_SAMPLE_RATE = 16000
MODEL_HOP = 256
MODEL_FMIN_HZ = 46.875
MODEL_FMAX_HZ = 2093.75
#: The band must hold at least one of the network's 95 log-spaced pitch steps.
MIN_BAND_RATIO = (MODEL_FMAX_HZ / MODEL_FMIN_HZ) ** (1 / 94)
CHUNK_FRAMES = 1875
CONTEXT_FRAMES = 12
TARGET_LEVEL_DBFS = -6.0
#: Neighbouring model frames further apart than this (semitones) are not interpolated.
INTERPOLATION_MAX_SEMITONES = 1.0


def model_band(min_hz: float, max_hz: float) -> tuple[float, float]:
    """The profile's search range clipped to the network's range.

    Raises
    ------
    ValueError
        If the clipped band is narrower than one of the network's pitch steps.
    """
    fmin, fmax = max(min_hz, MODEL_FMIN_HZ), min(max_hz, MODEL_FMAX_HZ)
    if fmax < fmin * MIN_BAND_RATIO:
        raise ValueError(
            f"SwiftF0 covers {MODEL_FMIN_HZ}-{MODEL_FMAX_HZ} Hz; {min_hz}-{max_hz} Hz leaves "
            "no pitch step to search"
        )
    return fmin, fmax


def run_model(session, audio_16k: np.ndarray, fmin: float, fmax: float) -> tuple[np.ndarray, ...]:
    """Pitch (Hz) and confidence of every model frame of a 16 kHz signal, chunk by chunk.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
        The SwiftF0 session (:func:`features.pitch_models.swiftf0_session`).
    audio_16k : numpy.ndarray
        Mono float32 signal at 16 kHz.
    fmin, fmax : float
        Search band in Hz (see :func:`model_band`).

    Returns
    -------
    pitch_hz, confidence : numpy.ndarray
        ``max(1, len(audio_16k) // 256)`` values each, float64 and float32.
    """
    audio_16k = np.ascontiguousarray(audio_16k, dtype=np.float32)
    n_frames = max(1, audio_16k.size // MODEL_HOP)
    band = {"fmin": np.asarray(fmin, np.float32), "fmax": np.asarray(fmax, np.float32)}
    pitch, confidence = [], []
    for start in range(0, n_frames, CHUNK_FRAMES):
        stop = min(start + CHUNK_FRAMES, n_frames)
        left = max(0, start - CONTEXT_FRAMES)
        right = (stop + CONTEXT_FRAMES) * MODEL_HOP if stop < n_frames else audio_16k.size
        window = audio_16k[left * MODEL_HOP : right]
        p, c = session.run(["pitch", "confidence"], {"audio": window[None, :], **band})
        pitch.append(np.asarray(p[0], np.float64)[start - left : stop - left])
        confidence.append(np.asarray(c[0], np.float32)[start - left : stop - left])
    return np.concatenate(pitch), np.concatenate(confidence)


def frames_to_grid(
    pitch_hz: np.ndarray, confidence: np.ndarray, frame_period_s: float, grid: FrameGrid
) -> tuple[np.ndarray, np.ndarray]:
    """Resample a model's frame series (frame ``j`` at ``j * frame_period_s``) onto ``grid``.

    Confidence is interpolated linearly; f0 in log frequency between neighbours within
    ``INTERPOLATION_MAX_SEMITONES``, otherwise from the nearer frame. Grid frames past the
    last model frame take its values.
    """
    position = grid.times_s() / frame_period_s
    last = pitch_hz.size - 1
    lo = np.minimum(np.floor(position).astype(np.int64), last)
    hi = np.minimum(lo + 1, last)
    weight = np.clip(position - lo, 0.0, 1.0)
    conf = (1.0 - weight) * confidence[lo] + weight * confidence[hi]
    log_lo = np.log2(np.maximum(pitch_hz[lo], 1e-6))
    log_hi = np.log2(np.maximum(pitch_hz[hi], 1e-6))
    close = np.abs(log_hi - log_lo) * 12.0 <= INTERPOLATION_MAX_SEMITONES
    nearest = np.where(weight < 0.5, log_lo, log_hi)
    f0 = 2.0 ** np.where(close, (1.0 - weight) * log_lo + weight * log_hi, nearest)
    return f0.astype(np.float32), conf.astype(np.float32)


def level_gain(signal: np.ndarray, active_level_dbfs: float) -> float:
    """Gain that puts the stem's active level at ``TARGET_LEVEL_DBFS``, without clipping."""
    if not np.isfinite(active_level_dbfs):
        return 1.0
    gain = 10.0 ** ((TARGET_LEVEL_DBFS - active_level_dbfs) / 20.0)
    peak = float(np.max(np.abs(signal))) if signal.size else 0.0
    return float(min(gain, 1.0 / peak)) if peak > 0 else 1.0


def swiftf0_pitch(
    session,
    signal: np.ndarray,
    grid: FrameGrid,
    min_hz: float,
    max_hz: float,
    active_level_dbfs: float,
) -> tuple[np.ndarray, np.ndarray]:
    """SwiftF0's f0 (Hz) and confidence on ``grid`` for a 44.1 kHz analysis signal.

    Parameters
    ----------
    session : onnxruntime.InferenceSession
    signal : numpy.ndarray
        Mono float32 signal at ``grid.sample_rate``.
    grid : FrameGrid
    min_hz, max_hz : float
        Search band (clipped to the network's range).
    active_level_dbfs : float
        The stem's active level, for the level normalisation.

    Returns
    -------
    f0_hz, confidence : numpy.ndarray
        ``grid.n_frames`` float32 values each; f0 is the network's best pitch whether or not
        the frame is voiced.
    """
    fmin, fmax = model_band(min_hz, max_hz)
    scaled = signal * np.float32(level_gain(signal, active_level_dbfs))
    audio_16k = soxr.resample(scaled, grid.sample_rate, MODEL_SAMPLE_RATE, quality="HQ")
    pitch, confidence = run_model(session, audio_16k, fmin, fmax)
    return frames_to_grid(pitch, confidence, MODEL_HOP / MODEL_SAMPLE_RATE, grid)
