"""Multichannel Wiener filtering (MWF), Spleeter's ``--mwf`` option.

Spleeter hands its U-Net magnitude estimates ``v`` and the mix STFT ``x`` to
``norbert.wiener`` with norbert 0.2.1's defaults: a soft-mask first estimate
``y_j = v_j / (eps + sum_k v_k) * x``, then one expectation-maximisation step of the local
Gaussian model (Duong, Vincent & Gribonval 2010): per source a power spectral density
``v_j(t, f) = mean_c |y_j|^2`` and a spatial covariance ``R_j(f) = sum_t y_j y_j^H /
(eps + sum_t v_j)``, then the Wiener gain ``v_j R_j C_xx^{-1}`` with ``C_xx = sum_j v_j R_j +
sqrt(eps) I`` applied to the mix. Values are scaled by ``max(1, max|x| / 10)`` for stability.
``eps`` is float32's machine epsilon. Bins above the model's ``F`` stay silent.

``R_j`` and the scale are statistics of the whole track, so chunked MWF runs two passes: the
first accumulates them (:class:`WienerStatistics`), the second filters each chunk
(:func:`wiener_filter`). The result equals filtering the whole track at once.
"""

from __future__ import annotations

import numpy as np

EPS = float(np.finfo(np.float32).eps)


def _softmask(est: np.ndarray, stft: np.ndarray) -> np.ndarray:
    """First estimate: ``(M, bins, 2, n)`` complex, zero above the modelled bins."""
    frames, bins, channels = stft.shape
    v = np.zeros((frames, bins, channels, est.shape[-1]), dtype=np.float32)
    v[:, : est.shape[1]] = est
    return (v / (EPS + v.sum(axis=-1, keepdims=True))) * stft[..., None]


class WienerStatistics:
    """Track-wide statistics of the first MWF pass: spatial covariances and scale."""

    def __init__(self, n_bins: int, n_sources: int, n_channels: int = 2) -> None:
        self.cov_sum = np.zeros((n_bins, n_channels, n_channels, n_sources), np.complex128)
        self.psd_sum = np.zeros((n_bins, n_sources), np.float64)
        self.max_abs = 0.0

    def update(self, stft: np.ndarray, est: np.ndarray) -> None:
        """Add one chunk: ``stft`` ``(M, bins, 2)`` complex, ``est`` ``(M, F, 2, n)``."""
        y = _softmask(est, stft)
        self.cov_sum += np.einsum("tfcj,tfdj->fcdj", y, np.conj(y))
        self.psd_sum += np.mean(np.abs(y) ** 2, axis=2).sum(axis=0)
        if stft.size:
            self.max_abs = max(self.max_abs, float(np.abs(stft).max()))

    @property
    def scale(self) -> float:
        """Norbert's stability scale ``max(1, max|x| / 10)``."""
        return max(1.0, self.max_abs / 10.0)

    def covariances(self) -> np.ndarray:
        """Spatial covariance per bin and source, ``(bins, 2, 2, n)``, on the scaled signal."""
        s2 = self.scale**2
        weight = EPS + self.psd_sum / s2
        return (self.cov_sum / s2) / weight[:, None, None, :]


def _invert_2x2(m: np.ndarray) -> np.ndarray:
    det = m[..., 0, 0] * m[..., 1, 1] - m[..., 0, 1] * m[..., 1, 0]
    inv = np.empty_like(m)
    inv[..., 0, 0] = m[..., 1, 1]
    inv[..., 1, 1] = m[..., 0, 0]
    inv[..., 0, 1] = -m[..., 0, 1]
    inv[..., 1, 0] = -m[..., 1, 0]
    return inv / det[..., None, None]


def wiener_filter(stft: np.ndarray, est: np.ndarray, stats: WienerStatistics) -> np.ndarray:
    """Filter one chunk with track-wide statistics.

    Parameters
    ----------
    stft : ndarray, complex, ``(M, bins, 2)``
        The chunk's mix STFT.
    est : ndarray, ``(M, F, 2, n)``
        U-Net magnitude estimates.
    stats : WienerStatistics
        Statistics accumulated over the whole track.

    Returns
    -------
    ndarray, complex64, ``(M, bins, 2, n)``
        Source STFTs.
    """
    if stft.shape[-1] != 2:
        raise ValueError("multichannel Wiener filtering is implemented for stereo only")
    scale = stats.scale
    x = (stft / scale).astype(np.complex64)
    y = _softmask(est, stft) / scale
    # Mixture covariances of highly correlated stereo are nearly singular: invert them in
    # double precision, as norbert does.
    psd = np.mean(np.abs(y) ** 2, axis=2).astype(np.float64)  # (M, bins, n)
    cov = stats.covariances().astype(np.complex64).astype(np.complex128)  # (bins, 2, 2, n)
    cxx = np.einsum("tfj,fcdj->tfcd", psd, cov)
    cxx[..., 0, 0] += np.sqrt(EPS)
    cxx[..., 1, 1] += np.sqrt(EPS)
    inv = _invert_2x2(cxx)
    out = np.empty(y.shape, dtype=np.complex64)
    for j in range(y.shape[-1]):
        gain = np.einsum("fce,tfed->tfcd", cov[..., j], inv) * psd[:, :, j, None, None]
        out[..., j] = np.einsum("tfcd,tfd->tfc", gain, x)
    return out * scale
