"""The one frame grid shared by every frame-level feature of stemline.

All stems are analysed as mono float32 at 44.1 kHz with a hop of 441 samples, i.e.
exactly 100 frames per second. Frame ``i`` is centred on ``time_s = i * 0.01``: frames
are cut with essentia's ``FrameGenerator(startFromZero=False)``, which centres the
first frame on sample 0 (zero-padded on the left). A signal of ``n`` samples has
``n // hop + 1`` frames. Algorithms may use different window lengths (pitch 2048 or
4096 samples, chroma 4096, onsets 1024) but every window is centred on the same
instants, so the pitch and chroma tables join on ``(track, stem, frame)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import soxr

ANALYSIS_SAMPLE_RATE = 44100
HOP_SIZE = 441


@dataclass(frozen=True)
class FrameGrid:
    """Frame grid: ``sample_rate`` in Hz, ``hop_size`` in samples, ``n_frames`` frames.

    Examples
    --------
    >>> grid = FrameGrid.for_samples(44100)
    >>> grid.n_frames, grid.frame_rate_hz, float(grid.times_s()[1])
    (101, 100.0, 0.01)
    """

    n_frames: int
    sample_rate: int = ANALYSIS_SAMPLE_RATE
    hop_size: int = HOP_SIZE

    @classmethod
    def for_samples(
        cls, n_samples: int, sample_rate: int = ANALYSIS_SAMPLE_RATE, hop_size: int = HOP_SIZE
    ) -> FrameGrid:
        """Grid covering a signal of ``n_samples`` at ``sample_rate``."""
        return cls(n_samples // hop_size + 1, sample_rate, hop_size)

    @property
    def frame_rate_hz(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_size

    def times_s(self) -> np.ndarray:
        """Frame-centre times in seconds, shape ``(n_frames,)``."""
        return np.arange(self.n_frames) * (self.hop_size / self.sample_rate)

    def fit(self, values: np.ndarray, fill: float = 0.0) -> np.ndarray:
        """Cut or pad a per-frame array to exactly ``n_frames`` values."""
        values = np.asarray(values)
        if values.shape[0] >= self.n_frames:
            return values[: self.n_frames]
        pad = np.full(
            (self.n_frames - values.shape[0], *values.shape[1:]), fill, dtype=values.dtype
        )
        return np.concatenate([values, pad])


def analysis_signal(audio: np.ndarray, sample_rate: int) -> np.ndarray:
    """Mono float32 signal at the analysis rate from ``(n,)`` or ``(n, channels)`` audio.

    Channels are averaged; other rates are resampled with soxr (high quality).

    Raises
    ------
    ValueError
        If the audio is empty, has more than two dimensions or holds NaN/Inf.
    """
    audio = np.asarray(audio)
    if audio.ndim not in (1, 2) or audio.shape[0] == 0:
        raise ValueError(f"audio must be (n_samples,) or (n_samples, channels), got {audio.shape}")
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be positive, got {sample_rate}")
    if not np.all(np.isfinite(audio)):
        raise ValueError("audio contains NaN or Inf")
    if audio.ndim == 2 and audio.shape[1] == 2 and np.issubdtype(audio.dtype, np.floating):
        # The mean of two channels, without a reduction along the short axis (same values).
        mono = (audio[:, 0] + audio[:, 1]) / 2
    else:
        mono = audio.mean(axis=1) if audio.ndim == 2 else audio
    mono = mono.astype(np.float32)
    if sample_rate != ANALYSIS_SAMPLE_RATE:
        mono = soxr.resample(mono, sample_rate, ANALYSIS_SAMPLE_RATE, quality="HQ")
    return np.ascontiguousarray(mono, dtype=np.float32)
