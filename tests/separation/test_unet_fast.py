"""The fast U-Net (``build_unet(cfg, fast=True)``) against the plain Keras transcription.

Both models load the same Spleeter-named random checkpoint through the real mapping; their
masked spectrograms must agree to 1e-5 (float rounding of different summation orders). Each
reformulated layer is also checked alone against the Keras layer it replaces, on odd shapes.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest

from demodata.checkpoints import spleeter_variables
from separation import fast_layers
from separation.checkpoint import assign_weights, map_checkpoint
from separation.configs import config_from_dict, load_config
from separation.unet import DECONV_KINDS, FAST_DECONVS_EIGEN, FAST_DECONVS_ONEDNN, build_unet

TOLERANCE = 1e-5


def loaded_pair(cfg, seed: int = 0, deconvs=None):
    """Reference and fast models for ``cfg`` with the same random Spleeter checkpoint."""
    weights = map_checkpoint(cfg, spleeter_variables(cfg, seed=seed))
    ref, fast = build_unet(cfg, fast=False), build_unet(cfg, fast=True, deconvs=deconvs)
    assign_weights(ref, weights)
    assign_weights(fast, weights)
    return ref, fast


def max_diff(ref, fast, mix) -> float:
    a = np.asarray(ref(mix, training=False))
    b = np.asarray(fast(mix, training=False))
    assert a.shape == b.shape
    assert np.abs(a).max() > 0.1  # a real comparison, not two zero outputs
    return float(np.abs(a - b).max())


def random_mix(cfg, batch: int = 1, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (2 * rng.random((batch, cfg.T, cfg.F, 2))).astype(np.float32)


@pytest.mark.parametrize("name", ["2stems", "2stems-16kHz", "4stems", "5stems"])
def test_fast_model_matches_reference_on_embedded_configs(name):
    cfg = load_config(f"spleeter:{name}")
    ref, fast = loaded_pair(cfg, seed=len(name))
    assert max_diff(ref, fast, random_mix(cfg)) <= TOLERANCE


@pytest.mark.parametrize("plan", [FAST_DECONVS_EIGEN, FAST_DECONVS_ONEDNN], ids=["eigen", "onednn"])
def test_both_kernel_plans_match_reference_at_full_size(plan):
    cfg = load_config("spleeter:2stems")
    ref, fast = loaded_pair(cfg, seed=4, deconvs=plan)
    assert max_diff(ref, fast, random_mix(cfg, batch=2)) <= TOLERANCE


def small(model_type: str, instruments: list[str], activation: str | None):
    params = {"conv_n_filters": [4, 6, 8, 8, 12, 16]}
    if activation:
        params.update(conv_activation=activation, deconv_activation=activation)
    return config_from_dict(
        {
            "model_dir": "tiny",
            "instrument_list": instruments,
            "T": 128,
            "F": 192,
            "model": {"type": model_type, "params": params},
        }
    )


@pytest.mark.parametrize("kind", DECONV_KINDS)
@pytest.mark.parametrize(
    ("model_type", "instruments", "activation"),
    [
        ("unet.unet", ["vocals", "accompaniment"], None),
        ("unet.unet", ["vocals", "drums", "bass", "other"], "ELU"),
        ("unet.softmax_unet", ["vocals", "piano", "drums", "bass", "other"], "ELU"),
    ],
)
def test_every_formulation_at_every_decoder_layer(kind, model_type, instruments, activation):
    cfg = small(model_type, instruments, activation)
    plan = dict.fromkeys(range(1, 7), kind)
    ref, fast = loaded_pair(cfg, seed=7, deconvs=plan)
    assert max_diff(ref, fast, random_mix(cfg, batch=2)) <= TOLERANCE


def test_fast_model_keeps_layer_names_and_weight_shapes():
    cfg = load_config("spleeter:4stems")
    mixed = {k: DECONV_KINDS[k % len(DECONV_KINDS)] for k in range(1, 7)}

    def shapes(model):
        return {
            f"{layer.name}/{w.path.rsplit('/', 1)[-1]}": tuple(w.shape)
            for layer in model.layers
            for w in layer.weights
        }

    reference = shapes(build_unet(cfg, fast=False))
    for plan in (None, FAST_DECONVS_EIGEN, FAST_DECONVS_ONEDNN, mixed):
        assert shapes(build_unet(cfg, fast=True, deconvs=plan)) == reference


def test_unknown_formulation_is_rejected():
    cfg = small("unet.unet", ["a", "b"], None)
    with pytest.raises(ValueError, match="unknown"):
        build_unet(cfg, deconvs={2: "winograd"})


def _same_weights(ref, other, shape, rng):
    x = rng.standard_normal(shape).astype(np.float32)
    ref(x)
    other(x)
    values = [rng.standard_normal(w.shape).astype(np.float32) for w in ref.get_weights()]
    ref.set_weights(values)
    other.set_weights(values)
    return x


@pytest.mark.parametrize("shape", [(2, 5, 7, 3), (1, 8, 16, 32), (2, 6, 4, 1)])
@pytest.mark.parametrize("layer_cls", [fast_layers.SubPixelConv2DTranspose,
                                       fast_layers.MatmulConv2DTranspose])  # fmt: skip
@pytest.mark.parametrize("filters", [1, 4])
def test_transposed_conv_formulations_match_keras(shape, layer_cls, filters):
    rng = np.random.default_rng(shape[1] * filters)
    ref = keras.layers.Conv2DTranspose(filters, (5, 5), strides=(2, 2), padding="same")
    fast = layer_cls(filters)
    x = _same_weights(ref, fast, shape, rng)
    np.testing.assert_allclose(np.asarray(fast(x)), np.asarray(ref(x)), atol=5e-5, rtol=1e-5)


@pytest.mark.parametrize("kernel", [2, 3, 4, 5])
@pytest.mark.parametrize("shape", [(2, 6, 10, 1), (1, 8, 4, 3)])
def test_block_grid_dilated_conv_matches_keras(kernel, shape):
    rng = np.random.default_rng(kernel)
    ref = keras.layers.Conv2D(2, kernel, dilation_rate=2, padding="same")
    fast = fast_layers.SpaceToDepthDilatedConv2D(2, kernel)
    x = _same_weights(ref, fast, shape, rng)
    np.testing.assert_allclose(np.asarray(fast(x)), np.asarray(ref(x)), atol=5e-5, rtol=1e-5)


def test_fast_layers_round_trip_through_their_config():
    layers = [
        fast_layers.SubPixelConv2DTranspose(3, name="a"),
        fast_layers.MatmulConv2DTranspose(3, name="b"),
        fast_layers.SpaceToDepthDilatedConv2D(2, 4, name="c"),
        fast_layers.SoftmaxMasking(name="d"),
    ]
    for layer in layers:
        clone = type(layer).from_config(layer.get_config())
        assert clone.get_config() == layer.get_config()


def test_block_rearrangements_match_keras_ops():
    x = np.arange(2 * 4 * 6 * 3, dtype=np.float32).reshape(2, 4, 6, 3)
    blocks = fast_layers.space_to_depth2(x)
    np.testing.assert_array_equal(blocks, keras.ops.space_to_depth(x, 2))
    np.testing.assert_array_equal(fast_layers.depth_to_space2(blocks), x)


def test_softmax_masking_matches_stacked_softmax():
    rng = np.random.default_rng(5)
    logits = [rng.normal(0, 30, (1, 4, 6, 2)).astype(np.float32) for _ in range(5)]
    mix = rng.random((1, 4, 6, 2)).astype(np.float32)
    expected = keras.ops.softmax(np.stack(logits, axis=-1), axis=-1) * mix[..., None]
    got = fast_layers.SoftmaxMasking()([*logits, mix])
    np.testing.assert_allclose(np.asarray(got), np.asarray(expected), atol=1e-6, rtol=1e-5)
