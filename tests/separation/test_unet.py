"""The Keras 3 U-Net: shapes, parameter counts, activations and mask semantics."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from demodata.checkpoints import randomize_weights
from separation.configs import EMBEDDED_NAMES, config_from_dict, load_config
from separation.unet import build_unet

# Spleeter's U-Net has 9,826,759 parameters per instrument including the dead sixth encoder
# batch norm (4 x 512 values), which the Keras graph prunes.
PARAMS_PER_INSTRUMENT = 9_826_759 - 4 * 512


@pytest.mark.parametrize("name", EMBEDDED_NAMES)
def test_every_embedded_config_builds_with_spleeter_shapes(name):
    cfg = load_config(f"spleeter:{name}")
    model = build_unet(cfg)
    assert model.output_shape == (None, 512, cfg.F, 2, len(cfg.instruments))
    assert model.count_params() == PARAMS_PER_INSTRUMENT * len(cfg.instruments)
    inst = cfg.instruments[0]
    shapes = [model.get_layer(f"{inst}_conv{k}").output.shape[1:] for k in range(1, 7)]
    w = cfg.F
    assert shapes == [
        (256, w // 2, 16), (128, w // 4, 32), (64, w // 8, 64),
        (32, w // 16, 128), (16, w // 32, 256), (8, w // 64, 512),
    ]  # fmt: skip
    assert model.get_layer(f"{inst}_mask_conv").output.shape[1:] == (512, w, 2)


def test_activations_follow_the_config():
    two = build_unet(load_config("spleeter:2stems"))
    enc = two.get_layer("vocals_enc_act1")
    assert isinstance(enc, keras.layers.LeakyReLU)
    assert enc.negative_slope == pytest.approx(0.2)  # Spleeter's slope, not Keras' 0.3
    assert isinstance(two.get_layer("vocals_dec_act1"), keras.layers.ReLU)
    four = build_unet(load_config("spleeter:4stems"))
    assert isinstance(four.get_layer("drums_enc_act1"), keras.layers.ELU)
    assert isinstance(four.get_layer("drums_dec_act1"), keras.layers.ELU)


def _small(model_type: str, instruments: list[str]):
    return config_from_dict(
        {
            "model_dir": "tiny",
            "instrument_list": instruments,
            "T": 64,
            "F": 128,
            "model": {"type": model_type, "params": {"conv_n_filters": [2, 2, 4, 4, 4, 4]}},
        }
    )


def test_softmax_unet_masks_partition_the_mix():
    cfg = _small("unet.softmax_unet", ["a", "b", "c"])
    model = build_unet(cfg)
    rng = np.random.default_rng(0)
    randomize_weights(model, rng, scale=0.3)
    mix = rng.random((2, 64, 128, 2)).astype(np.float32)
    out = np.asarray(model(mix, training=False))
    np.testing.assert_allclose(out.sum(axis=-1), mix, rtol=1e-5, atol=1e-6)
    assert (out >= 0).all()


def test_sigmoid_unet_masks_are_independent_and_bounded():
    cfg = _small("unet.unet", ["a", "b"])
    model = build_unet(cfg)
    rng = np.random.default_rng(1)
    randomize_weights(model, rng, scale=0.3)
    mix = rng.random((1, 64, 128, 2)).astype(np.float32) + 0.1
    out = np.asarray(model(mix, training=False))
    ratio = out / mix[..., None]
    assert ((ratio >= 0) & (ratio <= 1 + 1e-6)).all()
    assert ratio.std() > 0.05
    assert not np.allclose(out.sum(axis=-1), mix)  # not a partition, unlike softmax
