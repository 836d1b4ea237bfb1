"""Spleeter's U-Net in Keras 3.

One independent U-Net per instrument maps the mix magnitude spectrogram ``(B, T, F, 2)`` to a
mask; the model returns the masked spectrogram of every instrument (Spleeter's
``"{instrument}_spectrogram"`` outputs), stacked on a last axis: ``(B, T, F, 2, n_instruments)``.

Architecture facts (Spleeter ``model/functions/unet.py``): six stride-2 5x5 convolutions with
batch norm and the encoder activation; the decoder starts from the *raw* sixth convolution and
applies transposed convolution -> activation -> batch norm (-> dropout, inactive at inference);
skips concatenate the raw encoder convolution outputs, encoder tensor first; a final 4x4
dilated convolution with two filters gives the mask (sigmoid for ``unet.unet``, a softmax across
instruments for ``unet.softmax_unet``). Only ``keras`` layers and ``keras.ops`` are used, so the
model runs on any Keras backend.

Layer names follow ``{instrument}_{role}{k}`` so the checkpoint reader can address them.

``build_unet(cfg, fast=True)`` (the default) swaps the layers TensorFlow runs slowly on CPU for
the exact reformulations of :mod:`separation.fast_layers`: same layer names, weights and
outputs (to float rounding), less time. ``fast=False`` builds the plain Keras layers, the
direct transcription of Spleeter's graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

    from .configs import ModelConfig

BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99
LEAKY_SLOPE = 0.2

# How the fast model computes each decoder transposed convolution (1-based; absent = the plain
# Keras layer), chosen per layer by measurement (benchmarks/unet_layers.py, 2 CPUs, TF 2.21,
# batches of 1 and 2 segments). The best choice depends on TensorFlow's CPU kernels: its own
# (Eigen, the default on CPUs without AVX-512) or oneDNN's (TF_ENABLE_ONEDNN_OPTS=1), which
# run these shapes very differently. Whole model, CPU time per segment, fast vs plain: Eigen
# 1.32x at batch 1, 1.24x at batch 2; oneDNN 1.08x at batch 1, 1.13x at batch 2.
FAST_DECONVS_EIGEN: dict[int, str] = {1: "matmul", 2: "matmul", 5: "subpixel"}
FAST_DECONVS_ONEDNN: dict[int, str] = {6: "matmul"}
DECONV_KINDS = ("subpixel", "matmul")


def fast_deconvs() -> dict[int, str]:
    """The fast model's decoder formulations for the running backend's CPU kernels."""
    from .fast_layers import onednn_enabled

    return dict(FAST_DECONVS_ONEDNN if onednn_enabled() else FAST_DECONVS_EIGEN)


def _encoder_activation(name: str | None, layer_name: str) -> keras.layers.Layer:
    import keras

    if name == "ReLU":
        return keras.layers.ReLU(name=layer_name)
    if name == "ELU":
        return keras.layers.ELU(alpha=1.0, name=layer_name)
    # Spleeter's default (including a missing key) is LeakyReLU with slope 0.2, not Keras' 0.3.
    return keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=layer_name)


def _decoder_activation(name: str | None, layer_name: str) -> keras.layers.Layer:
    import keras

    if name == "LeakyReLU":
        return keras.layers.LeakyReLU(negative_slope=LEAKY_SLOPE, name=layer_name)
    if name == "ELU":
        return keras.layers.ELU(alpha=1.0, name=layer_name)
    return keras.layers.ReLU(name=layer_name)


def _batch_norm(layer_name: str) -> keras.layers.Layer:
    import keras

    return keras.layers.BatchNormalization(
        axis=-1, momentum=BN_MOMENTUM, epsilon=BN_EPSILON, name=layer_name
    )


def _deconv(filters: int, name: str, impl: str | None) -> keras.layers.Layer:
    """A ``5x5`` stride-2 ``same`` transposed convolution, plain or reformulated."""
    import keras

    from . import fast_layers

    if impl == "subpixel":
        return fast_layers.SubPixelConv2DTranspose(filters, name=name)
    if impl == "matmul":
        return fast_layers.MatmulConv2DTranspose(filters, name=name)
    return keras.layers.Conv2DTranspose(filters, (5, 5), strides=(2, 2), padding="same", name=name)


def _mask_conv(name: str, fast: bool) -> keras.layers.Layer:
    """The final ``4x4`` dilation-2 mask convolution with two filters (stereo)."""
    import keras

    from .fast_layers import SpaceToDepthDilatedConv2D

    if fast:
        return SpaceToDepthDilatedConv2D(2, 4, name=name)
    return keras.layers.Conv2D(2, (4, 4), dilation_rate=(2, 2), padding="same", name=name)


def _instrument_logits(
    x: keras.KerasTensor,
    cfg: ModelConfig,
    inst: str,
    fast: bool,
    deconvs: Mapping[int, str],
) -> keras.KerasTensor:
    """Build one instrument's U-Net up to its final (pre-activation) mask convolution.

    ``deconvs`` maps decoder layers (1-based) to a fast formulation; ``fast`` also selects
    the fast mask convolution.
    """
    import keras

    conv_kw = {"kernel_size": (5, 5), "strides": (2, 2), "padding": "same"}
    skips = []
    prev = x
    for k, filters in enumerate(cfg.conv_filters, start=1):
        conv = keras.layers.Conv2D(filters, name=f"{inst}_conv{k}", **conv_kw)(prev)
        skips.append(conv)
        if k < len(cfg.conv_filters):
            bn = _batch_norm(f"{inst}_enc_bn{k}")(conv)
            prev = _encoder_activation(cfg.conv_activation, f"{inst}_enc_act{k}")(bn)
        # Layer 6's batch norm and activation are computed and discarded by Spleeter; the
        # decoder starts from the raw sixth convolution.
    prev = skips[-1]
    decoder_filters = (*tuple(reversed(cfg.conv_filters[:-1])), 1)
    for k, filters in enumerate(decoder_filters, start=1):
        up = _deconv(filters, f"{inst}_deconv{k}", deconvs.get(k))(prev)
        act = _decoder_activation(cfg.deconv_activation, f"{inst}_dec_act{k}")(up)
        bn = _batch_norm(f"{inst}_dec_bn{k}")(act)
        if k <= 3:
            bn = keras.layers.Dropout(0.5, name=f"{inst}_dropout{k}")(bn)
        if k < len(decoder_filters):
            prev = keras.layers.Concatenate(axis=-1, name=f"{inst}_skip{k}")(
                [skips[len(skips) - 1 - k], bn]
            )
        else:
            prev = bn
    return _mask_conv(f"{inst}_mask_conv", fast)(prev)


def build_unet(
    cfg: ModelConfig,
    segments: int | None = None,
    fast: bool = True,
    deconvs: Mapping[int, str] | None = None,
) -> keras.Model:
    """Build the separation model for ``cfg`` (weights uninitialised).

    Parameters
    ----------
    cfg : ModelConfig
        The model configuration; its ``T``, ``F``, activations and model type shape the net.
    segments : int, optional
        Fixed batch size (number of segments per call); ``None`` leaves it dynamic.
    fast : bool
        Use the faster exact reformulations of the slow layers (default); ``False`` gives
        the plain Keras layers. Both have the same layer names and weights (so the same
        checkpoint mapping) and agree to float rounding.
    deconvs : mapping of int to str, optional
        With ``fast``, override the per-layer choice of :func:`fast_deconvs`: decoder layer
        (1-based) to one of ``DECONV_KINDS`` (for tests and benchmarks).

    Returns
    -------
    keras.Model
        Input ``(B, T, F, 2)`` mix magnitudes; output ``(B, T, F, 2, n_instruments)`` masked
        magnitudes, instruments in configuration order.
    """
    import keras

    from .fast_layers import SoftmaxMasking

    if not fast:
        deconvs = {}
    elif deconvs is None:
        deconvs = fast_deconvs()
    unknown = set(deconvs.values()) - set(DECONV_KINDS)
    if unknown:
        raise ValueError(f"unknown decoder formulation(s) {sorted(unknown)}")
    inputs = keras.Input(shape=(cfg.T, cfg.F, cfg.n_channels), batch_size=segments, name="mix")
    logits = [_instrument_logits(inputs, cfg, i, fast, deconvs) for i in cfg.instruments]
    name = f"spleeter_{len(cfg.instruments)}stems"
    if fast and cfg.model_type == "unet.softmax_unet":
        outputs = SoftmaxMasking(name="softmax_masked_spectrograms")([*logits, inputs])
        return keras.Model(inputs, outputs, name=name)
    stacked = keras.layers.Lambda(
        lambda ts: keras.ops.stack(ts, axis=-1), name="stack_instruments"
    )(logits)
    if cfg.model_type == "unet.softmax_unet":
        masks = keras.layers.Softmax(axis=-1, name="instrument_softmax")(stacked)
    else:
        masks = keras.layers.Activation("sigmoid", name="sigmoid_masks")(stacked)
    outputs = keras.layers.Lambda(
        lambda ms: ms[0] * keras.ops.expand_dims(ms[1], -1), name="masked_spectrograms"
    )([masks, inputs])
    return keras.Model(inputs, outputs, name=name)
