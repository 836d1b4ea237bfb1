"""Faster, exact reformulations of U-Net layers, for CPU inference.

TensorFlow's CPU kernels are slow on some of Spleeter's layer shapes:

* the final 4x4 *dilated* mask convolution (one input channel, two filters, full resolution),
  which TensorFlow runs through space-to-batch and a one-input-channel convolution;
* stride-2 ``same`` transposed convolutions on a small input (the first decoder layer, 8x16
  pixels) or with few output channels (the last ones); which of them are slow depends on
  whether TensorFlow uses its own kernels or oneDNN's (:func:`onednn_enabled`);
* a softmax over the short instrument axis (``unet.softmax_unet``).

The replacements compute the same values (to float rounding) with stride-1 convolutions on
the 2x2 block grid (``space_to_depth``), with one matrix product, or on separate tensors.
Each subclasses the Keras layer it replaces and keeps its weights (names, shapes, layout), so
checkpoints load unchanged and parameter counts agree; the rearranged kernels are built from
those weights in every call (well under a millisecond to a few milliseconds). Only
``keras.ops`` is used, so any Keras backend runs them. ``benchmarks/unet_layers.py`` measures
each against the layer it replaces; ``separation.unet`` picks per layer.
"""

from __future__ import annotations

import os

import keras
from keras import ops

# Per axis, TF's `same` transposed convolution with kernel 5 and stride 2 pads one at the
# start: output 2p takes kernel taps 3 and 1 from inputs p-1 and p; output 2p+1 takes taps 4,
# 2 and 0 from inputs p-1, p and p+1. Row d of this table holds, for input p-1+d, the tap of
# the even and of the odd output; None where there is none.
_TRANSPOSED_TAPS = ((3, 4), (1, 2), (None, 0))


def _bias_activation(layer: keras.layers.Layer, y):
    """``y`` plus the layer's bias (if it has one), through its activation (if any)."""
    if layer.use_bias:
        y = y + layer.bias
    return layer.activation(y) if layer.activation is not None else y


def space_to_depth2(x):
    """``(B, H, W, C)`` → ``(B, H/2, W/2, 4C)``, channel ``(2 * py + px) * C + c``.

    The same result as ``ops.space_to_depth(x, 2)``, written as reshape-transpose-reshape,
    which TensorFlow runs several times faster for few channels.
    """
    b, h, w, c = x.shape
    b = -1 if b is None else b
    x = ops.reshape(x, (b, h // 2, 2, w // 2, 2 * c))
    x = ops.transpose(x, (0, 1, 3, 2, 4))
    return ops.reshape(x, (b, h // 2, w // 2, 4 * c))


def depth_to_space2(x):
    """Inverse of :func:`space_to_depth2` (``ops.depth_to_space(x, 2)``, faster on TF)."""
    b, h, w, c = x.shape
    b = -1 if b is None else b
    x = ops.reshape(x, (b, h, w, 2, c // 2))
    x = ops.transpose(x, (0, 1, 3, 2, 4))
    return ops.reshape(x, (b, 2 * h, 2 * w, c // 4))


def subpixel_kernel(kernel):
    """Rearrange a ``(5, 5, out, in)`` transposed-conv kernel into a 3x3 sub-pixel kernel.

    Returns ``(3, 3, in, 4 * out)``; output channel ``(2 * ry + rx) * out + o`` is phase
    ``(ry, rx)`` of output channel ``o`` (the :func:`depth_to_space2` order), and tap
    ``(dy, dx)`` reads input ``(p - 1 + dy, q - 1 + dx)`` for output block ``(p, q)``.
    """
    k = ops.transpose(kernel, (0, 1, 3, 2))  # (5, 5, in, out)
    zero = ops.zeros_like(k[0, 0])
    rows = []
    for taps_y in _TRANSPOSED_TAPS:
        cols = []
        for taps_x in _TRANSPOSED_TAPS:
            phases = [
                zero if ty is None or tx is None else k[ty, tx] for ty in taps_y for tx in taps_x
            ]
            cols.append(ops.concatenate(phases, axis=-1))
        rows.append(ops.stack(cols))
    return ops.stack(rows)


class SubPixelConv2DTranspose(keras.layers.Conv2DTranspose):
    """``Conv2DTranspose(filters, 5, strides=2, padding="same")`` computed as a sub-pixel conv.

    A 3x3 stride-1 convolution to ``4 * filters`` channels (the four output phases), then
    :func:`depth_to_space2`. It does 36/25 of the reference multiply-adds (zero taps) but on
    the fast stride-1 kernels.
    """

    def __init__(self, filters: int, **kwargs) -> None:
        kwargs.update(kernel_size=(5, 5), strides=(2, 2), padding="same")
        super().__init__(filters, **kwargs)

    def call(self, inputs):
        """Sub-pixel convolution, bias, activation (channels-last input)."""
        y = ops.conv(inputs, subpixel_kernel(self.kernel), strides=1, padding="same")
        y = depth_to_space2(y)
        return _bias_activation(self, y)

    def get_config(self) -> dict:
        """The config without the fixed kernel size, strides and padding."""
        config = super().get_config()
        for key in ("kernel_size", "strides", "padding"):
            config.pop(key, None)
        return config


class MatmulConv2DTranspose(SubPixelConv2DTranspose):
    """``Conv2DTranspose(filters, 5, strides=2, padding="same")`` as one matrix product.

    The product ``kernel (25 * filters, in) @ inputs (in, pixels)`` gives every input pixel's
    25 tap contributions, tap-major (the kernel is used as stored, never rearranged); shifted
    sums of those contributions give the four output phases. With the kernel as the tall
    left operand, TensorFlow's matrix product is 2-4x faster than with the few pixels on the
    left, which is what its own transposed convolution does. The products hold 25 values per
    output channel and input pixel, so this suits layers with a small input and many weights,
    such as Spleeter's first decoder layers (8x16 and 16x32 pixels, 512 input channels), or
    with a single output channel (the last one, where oneDNN's kernel is slow).
    """

    def call(self, inputs):
        """Tap products, shifted sums per phase, bias, activation (channels-last input)."""
        h, w = inputs.shape[1], inputs.shape[2]
        taps = ops.einsum("yxoi,bhwi->yxobhw", self.kernel, inputs)
        taps = ops.pad(taps, [[0, 0], [0, 0], [0, 0], [0, 0], [1, 1], [1, 1]])
        phases = []
        for ry in range(2):
            for rx in range(2):
                total = None
                for dy, taps_y in enumerate(_TRANSPOSED_TAPS):
                    for dx, taps_x in enumerate(_TRANSPOSED_TAPS):
                        ty, tx = taps_y[ry], taps_x[rx]
                        if ty is None or tx is None:
                            continue
                        part = taps[ty, tx, :, :, dy : dy + h, dx : dx + w]
                        total = part if total is None else total + part
                phases.append(total)  # (filters, batch, h, w)
        y = ops.stack(phases)  # (ry * 2 + rx, filters, batch, h, w)
        y = ops.reshape(y, (2, 2, self.filters, -1, h, w))
        y = ops.transpose(y, (3, 4, 0, 5, 1, 2))  # (batch, h, ry, w, rx, filters)
        y = ops.reshape(y, (-1, 2 * h, 2 * w, self.filters))
        return _bias_activation(self, y)


def phase_diagonal_kernel(kernel):
    """Place a ``(k, k, in, out)`` kernel on the diagonal of the four 2x2-block phases.

    Returns ``(k, k, 4 * in, 4 * out)``: input phase ``q`` feeds only output phase ``q``
    (channels in :func:`space_to_depth2` order on both sides).
    """
    k, n_in, n_out = kernel.shape[0], kernel.shape[2], kernel.shape[3]
    w = ops.einsum("yxio,qr->yxqiro", kernel, ops.eye(4, dtype=kernel.dtype))
    return ops.reshape(w, (k, k, 4 * n_in, 4 * n_out))


class SpaceToDepthDilatedConv2D(keras.layers.Conv2D):
    """``Conv2D(filters, k, dilation_rate=2, padding="same")`` computed on 2x2 blocks.

    TensorFlow runs a dilated convolution on CPU through space-to-batch and a convolution
    with the layer's own input channels; for Spleeter's mask convolution (one input channel,
    two filters, at full resolution) that is among the slowest layers of the net, although it
    has the fewest multiply-adds (measured 3x slower than this form). Here the input is
    padded by the ``same`` margin ``k - 1`` and cut into 2x2 blocks (:func:`space_to_depth2`):
    output ``2u + r`` reads input ``2u + r - (k - 1) + 2t`` = phase ``r`` of padded block
    ``u + t``, so each output phase is a ``k x k`` ``valid`` convolution of the same input
    phase. One convolution from ``4 * in`` to ``4 * filters`` channels with the kernel on the
    phase diagonal (:func:`phase_diagonal_kernel`) does all four, then
    :func:`depth_to_space2`. Height and width must be even.
    """

    def __init__(self, filters: int, kernel_size: int = 4, **kwargs) -> None:
        kwargs.update(kernel_size=(kernel_size, kernel_size), dilation_rate=(2, 2), padding="same")
        super().__init__(filters, **kwargs)

    def call(self, inputs):
        """Block-grid convolution, bias, activation (channels-last input)."""
        m = self.kernel_size[0] - 1
        padded = ops.pad(inputs, [[0, 0], [m, m], [m, m], [0, 0]])
        kernel = phase_diagonal_kernel(self.kernel)
        y = ops.conv(space_to_depth2(padded), kernel, strides=1, padding="valid")
        y = depth_to_space2(y)
        return _bias_activation(self, y)

    def get_config(self) -> dict:
        """The config without the fixed dilation and padding."""
        config = super().get_config()
        for key in ("dilation_rate", "padding"):
            config.pop(key, None)
        config["kernel_size"] = config["kernel_size"][0]
        return config


class SoftmaxMasking(keras.layers.Layer):
    """``unet.softmax_unet``'s output: softmax across instruments, times the mix.

    Called on ``[logits_1, ..., logits_n, mix]`` (each ``(B, T, F, 2)``), it returns
    ``(B, T, F, 2, n)`` like ``stack -> Softmax(axis=-1) -> * mix``, but computes the softmax
    on the separate instrument tensors and stacks last: TensorFlow's softmax over a short last
    axis is slow on CPU (for 5 instruments this form takes 0.8x the time with TensorFlow's own
    kernels, 0.4x with oneDNN's).
    """

    def call(self, inputs):
        """Stable softmax over the instrument list, scaled by the mix, stacked last."""
        *logits, mix = inputs
        peak = logits[0]
        for x in logits[1:]:
            peak = ops.maximum(peak, x)
        exps = [ops.exp(x - peak) for x in logits]
        total = exps[0]
        for e in exps[1:]:
            total = total + e
        scale = mix / total
        return ops.stack([e * scale for e in exps], axis=-1)

    def compute_output_shape(self, input_shape):
        """``(*mix_shape, n_instruments)``."""
        return (*tuple(input_shape[-1]), len(input_shape) - 1)


def onednn_enabled() -> bool:
    """Whether TensorFlow runs its CPU kernels through oneDNN (``TF_ENABLE_ONEDNN_OPTS``).

    Decides which formulations are faster (see ``separation.unet.fast_deconvs``); ``False``
    on other Keras backends.
    """
    if keras.backend.backend() != "tensorflow":
        return False
    try:
        from tensorflow.python.util import _pywrap_util_port
    except ImportError:  # private module moved: fall back to the switch itself
        return os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").lower() in ("1", "true")
    return bool(_pywrap_util_port.IsMklEnabled())
