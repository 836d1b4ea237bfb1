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
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import keras

    from .configs import ModelConfig

BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99
LEAKY_SLOPE = 0.2


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


def _instrument_logits(x: keras.KerasTensor, cfg: ModelConfig, inst: str) -> keras.KerasTensor:
    """Build one instrument's U-Net up to its final (pre-activation) mask convolution."""
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
        up = keras.layers.Conv2DTranspose(filters, name=f"{inst}_deconv{k}", **conv_kw)(prev)
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
    return keras.layers.Conv2D(
        2, (4, 4), dilation_rate=(2, 2), padding="same", name=f"{inst}_mask_conv"
    )(prev)


def build_unet(cfg: ModelConfig, segments: int | None = None) -> keras.Model:
    """Build the separation model for ``cfg`` (weights uninitialised).

    Parameters
    ----------
    cfg : ModelConfig
        The model configuration; its ``T``, ``F``, activations and model type shape the net.
    segments : int, optional
        Fixed batch size (number of segments per call); ``None`` leaves it dynamic.

    Returns
    -------
    keras.Model
        Input ``(B, T, F, 2)`` mix magnitudes; output ``(B, T, F, 2, n_instruments)`` masked
        magnitudes, instruments in configuration order.
    """
    import keras

    inputs = keras.Input(shape=(cfg.T, cfg.F, cfg.n_channels), batch_size=segments, name="mix")
    logits = [_instrument_logits(inputs, cfg, inst) for inst in cfg.instruments]
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
    return keras.Model(inputs, outputs, name=f"spleeter_{len(cfg.instruments)}stems")
