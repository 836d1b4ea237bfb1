"""STFT and inverse STFT with ``tf.signal``'s conventions, in ``keras.ops`` for every backend.

Spleeter's graph uses ``tf.signal.stft`` and ``tf.signal.inverse_stft`` (SPLEETER.md, section
9), and these functions compute the same thing on any Keras backend:

- frames of ``frame_length`` samples every ``frame_step`` samples, *no* centre padding and no
  end padding (the caller pads: :mod:`separation.chunking` puts Spleeter's ``frame_length``
  zeros in front), so an input of ``(M - 1) * frame_step + frame_length`` samples gives ``M``
  frames;
- each frame multiplied by the periodic Hann window ``0.5 - 0.5 cos(2 pi n / N)``, then a real
  FFT of ``frame_length`` points (``frame_length // 2 + 1`` bins);
- inverse: real inverse FFT of each frame, multiplied by the *same* window (Spleeter passes its
  forward window as ``inverse_stft``'s ``window_fn``; there is no window-sum normalisation),
  then overlap-add. At hop ``N/4`` the squared periodic Hann windows sum to 1.5 everywhere, so
  :data:`WINDOW_COMPENSATION` (2/3) makes the round trip exact away from the ends.

Complex spectra are pairs of real tensors ``(real, imag)``, which every backend handles the
same way. ``frame_length`` must be a multiple of ``frame_step`` (the configurations check it);
framing and overlap-add are then reshapes and ``frame_length / frame_step`` shifted sums.
"""

from __future__ import annotations

from typing import Any

import numpy as np

WINDOW_COMPENSATION = 2.0 / 3.0

Tensor = Any


def hann_window(length: int) -> np.ndarray:
    """The periodic Hann window of ``tf.signal.hann_window(length, periodic=True)``.

    Computed in float32 the way TensorFlow computes it (``2 pi`` rounded to float32, times
    ``n / length``), so it equals Spleeter's window to one float32 rounding of the cosine.
    """
    arg = np.float32(2.0 * np.pi) * np.arange(length, dtype=np.float32) / np.float32(length)
    return (np.float32(0.5) - np.float32(0.5) * np.cos(arg)).astype(np.float32)


def frame(x: Tensor, frame_length: int, frame_step: int) -> Tensor:
    """Frames of the last axis: ``(..., (M - 1) * step + length)`` -> ``(..., M, length)``."""
    from keras import ops

    *lead, n = x.shape
    ratio = frame_length // frame_step
    blocks = ops.reshape(x, (*lead, n // frame_step, frame_step))
    m = n // frame_step - ratio + 1
    return ops.concatenate([blocks[..., k : k + m, :] for k in range(ratio)], axis=-1)


def overlap_add(frames: Tensor, frame_step: int) -> Tensor:
    """Overlap-add ``(..., M, length)`` frames with hop ``frame_step``, like
    ``tf.signal.overlap_and_add``: ``(..., (M - 1) * step + length)``."""
    from keras import ops

    *lead, m, length = frames.shape
    ratio = length // frame_step
    parts = ops.reshape(frames, (*lead, m, ratio, frame_step))
    no_pad = [[0, 0]] * len(lead)
    total = None
    for k in range(ratio):
        shifted = ops.pad(parts[..., k, :], [*no_pad, [k, ratio - 1 - k], [0, 0]])
        total = shifted if total is None else total + shifted
    return ops.reshape(total, (*lead, (m + ratio - 1) * frame_step))


def stft(x: Tensor, frame_length: int, frame_step: int) -> tuple[Tensor, Tensor]:
    """Real and imaginary STFT of the last axis: ``(..., n)`` -> two ``(..., M, bins)``."""
    from keras import ops

    frames = ops.multiply(frame(x, frame_length, frame_step), hann_window(frame_length))
    return ops.rfft(frames, fft_length=frame_length)


def inverse_stft(real: Tensor, imag: Tensor, frame_length: int, frame_step: int) -> Tensor:
    """Inverse of :func:`stft`: ``(..., M, bins)`` pairs -> ``(..., (M - 1) * step + length)``,
    without the 2/3 compensation (as ``tf.signal.inverse_stft`` with the forward window)."""
    from keras import ops

    frames = ops.irfft((real, imag), fft_length=frame_length)
    return overlap_add(ops.multiply(frames, hann_window(frame_length)), frame_step)


def magnitude(real: Tensor, imag: Tensor) -> Tensor:
    """``|real + i imag|``."""
    from keras import ops

    return ops.sqrt(real * real + imag * imag)
