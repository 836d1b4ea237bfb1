"""Checkpoint mapping: Spleeter's TF1 variable names onto the Keras U-Net, for 2/4/5 stems."""

from __future__ import annotations

import numpy as np
import pytest

from demodata.checkpoints import spleeter_variables, write_checkpoint
from separation.checkpoint import (
    CheckpointError,
    assign_weights,
    load_converted,
    map_checkpoint,
    read_checkpoint,
)
from separation.configs import config_from_dict, load_config
from separation.unet import build_unet

TINY_FILTERS = [2, 2, 4, 4, 4, 4]


def tiny(name: str):
    """An embedded config with small filters: same naming, a fraction of the size."""
    raw = dict(load_config(f"spleeter:{name}").raw)
    raw["model"] = {**raw["model"], "params": {**raw["model"]["params"],
                                               "conv_n_filters": TINY_FILTERS}}  # fmt: skip
    raw["T"], raw["F"] = 64, 128
    return config_from_dict(raw, name=f"tiny-{name}")


def loaded_model(cfg, variables):
    model = build_unet(cfg)
    assign_weights(model, map_checkpoint(cfg, variables))
    return model


@pytest.mark.parametrize(
    ("name", "layer_weight", "variable"),
    [
        ("2stems", "vocals_conv1/kernel", "conv2d/kernel"),
        ("2stems", "vocals_mask_conv/kernel", "conv2d_6/kernel"),
        ("2stems", "accompaniment_conv1/kernel", "conv2d_7/kernel"),
        ("2stems", "accompaniment_enc_bn1/gamma", "batch_normalization_12/gamma"),
        ("2stems", "accompaniment_dec_bn6/beta", "batch_normalization_23/beta"),
        ("4stems", "drums_deconv1/kernel", "conv2d_transpose_6/kernel"),
        ("4stems", "bass_dec_bn1/gamma", "batch_normalization_30/gamma"),
        ("4stems", "other_conv1/kernel", "conv2d_21/kernel"),
        ("4stems", "other_mask_conv/bias", "conv2d_27/bias"),
        ("4stems", "other_deconv6/bias", "conv2d_transpose_23/bias"),
        ("5stems", "piano_conv1/kernel", "conv2d_7/kernel"),
        ("5stems", "piano_mask_conv/kernel", "conv2d_13/kernel"),
        ("5stems", "other_mask_conv/kernel", "conv2d_34/kernel"),
        ("5stems", "other_deconv6/kernel", "conv2d_transpose_29/kernel"),
        ("5stems", "other_dec_bn6/moving_variance", "batch_normalization_59/moving_variance"),
    ],
)
def test_layers_receive_the_variables_spleeter_named(name, layer_weight, variable):
    cfg = tiny(name)
    variables = spleeter_variables(cfg, seed=hash(name) % 1000)
    model = loaded_model(cfg, variables)
    layer_name, weight = layer_weight.split("/")
    layer = model.get_layer(layer_name)
    values = {
        w.path.rsplit("/", 1)[-1]: v
        for w, v in zip(layer.weights, layer.get_weights(), strict=False)
    }
    np.testing.assert_array_equal(values[weight], variables[variable])


@pytest.mark.parametrize("name", ["2stems", "4stems", "5stems"])
def test_written_checkpoint_round_trips_through_tf(tmp_path, name):
    cfg = tiny(name)
    variables = spleeter_variables(cfg, seed=3)
    prefix = write_checkpoint(tmp_path / name, variables)
    read = read_checkpoint(prefix)
    assert set(read) == set(variables)
    model = loaded_model(cfg, read)
    out = np.asarray(model(np.ones((1, 64, 128, 2), np.float32), training=False))
    assert out.shape == (1, 64, 128, 2, len(cfg.instruments))
    assert np.isfinite(out).all()
    # Exactly the dead sixth encoder batch norms (and global_step) stay unused.
    used = set(map_checkpoint(cfg, read))
    assert len(used) == len(read) - 1 - 4 * len(cfg.instruments)


def test_full_size_5stems_checkpoint_loads_and_runs(tmp_path):
    cfg = load_config("spleeter:5stems")
    variables = spleeter_variables(cfg, seed=5)
    assert sum(v.size for v in variables.values()) == 5 * 9_826_759 + 1
    prefix = write_checkpoint(tmp_path / "5stems", variables)
    model = loaded_model(cfg, read_checkpoint(prefix))
    mix = np.random.default_rng(0).random((1, 512, 1024, 2)).astype(np.float32)
    out = np.asarray(model(mix, training=False))
    np.testing.assert_allclose(out.sum(axis=-1), mix, rtol=1e-4, atol=1e-5)


def test_partial_checkpoint_is_rejected(tmp_path):
    cfg = tiny("4stems")
    variables = spleeter_variables(cfg)
    del variables["conv2d_transpose_12/kernel"]
    with pytest.raises(CheckpointError, match=r"1 variables missing.*conv2d_transpose_12"):
        map_checkpoint(cfg, variables)


def test_checkpoint_of_another_model_is_rejected():
    four = spleeter_variables(tiny("4stems"))
    with pytest.raises(CheckpointError, match="would be left unused"):
        map_checkpoint(tiny("2stems"), four)


def test_wrong_filter_sizes_fail_with_a_shape_message():
    cfg = tiny("2stems")
    variables = spleeter_variables(cfg)
    bigger = config_from_dict({**cfg.raw, "model": {"type": "unet.unet", "params": {
        "conv_n_filters": [4, 4, 4, 4, 4, 4]}}}, name="bigger")  # fmt: skip
    with pytest.raises(CheckpointError, match="shape mismatch"):
        assign_weights(build_unet(bigger), map_checkpoint(bigger, variables))


def test_truncated_or_missing_checkpoint_files_raise(tmp_path):
    cfg = tiny("2stems")
    prefix = write_checkpoint(tmp_path / "ck", spleeter_variables(cfg))
    data = tmp_path / "ck" / "model.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="unreadable or partial"):
        read_checkpoint(prefix)
    with pytest.raises(CheckpointError, match="missing"):
        read_checkpoint(tmp_path / "nowhere" / "model")


def test_converted_cache_is_used_and_corruption_detected(tmp_path):
    cfg = tiny("2stems")
    variables = spleeter_variables(cfg, seed=9)
    ck_dir = tmp_path / "ck"
    prefix = write_checkpoint(ck_dir, variables)
    cache = tmp_path / "cache"
    first = load_converted(cfg, prefix, "sha-a", cache)
    assert len(list(cache.glob("*.npz"))) == 1
    # With the checkpoint gone, the cache alone must serve the weights.
    moved = tmp_path / "moved"
    ck_dir.rename(moved)
    second = load_converted(cfg, prefix, "sha-a", cache)
    for key, value in first.weights.items():
        np.testing.assert_array_equal(second.weights[key], value)
    # Flip bytes in the cached file: the digest no longer matches, so it must not be used.
    npz = next(cache.glob("*.npz"))
    raw = bytearray(npz.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    npz.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError):  # falls back to the (now missing) checkpoint
        load_converted(cfg, prefix, "sha-a", cache)
    moved.rename(ck_dir)
    third = load_converted(cfg, prefix, "sha-a", cache)
    np.testing.assert_array_equal(third.weights["vocals_conv1/kernel"], variables["conv2d/kernel"])
