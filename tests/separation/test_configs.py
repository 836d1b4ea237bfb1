"""Model configurations: embedded Spleeter configs and user JSON files."""

from __future__ import annotations

import json

import pytest

from separation.configs import EMBEDDED_NAMES, ConfigError, load_config


@pytest.mark.parametrize("name", EMBEDDED_NAMES)
def test_embedded_configs_load_with_spleeter_values(name):
    cfg = load_config(f"spleeter:{name}")
    assert cfg.sample_rate == 44100
    assert (cfg.frame_length, cfg.frame_step, cfg.T) == (4096, 1024, 512)
    assert (1536 if name.endswith("16kHz") else 1024) == cfg.F
    assert cfg.mask_extension == "zeros"
    assert cfg.separation_exponent == 2
    # -16kHz variants reuse their base model's checkpoint.
    assert cfg.model_dir == name.split("-")[0]


def test_instrument_order_and_model_types():
    assert load_config("spleeter:2stems").instruments == ("vocals", "accompaniment")
    assert load_config("spleeter:4stems").instruments == ("vocals", "drums", "bass", "other")
    five = load_config("spleeter:5stems")
    assert five.instruments == ("vocals", "piano", "drums", "bass", "other")
    assert five.model_type == "unet.softmax_unet"
    assert load_config("spleeter:2stems").conv_activation is None  # LeakyReLU(0.2) default
    assert load_config("spleeter:4stems").conv_activation == "ELU"


def test_cutoff_and_segment_length():
    assert load_config("spleeter:2stems").cutoff_hz == pytest.approx(11025.0)
    assert load_config("spleeter:2stems-16kHz").cutoff_hz == pytest.approx(16537.5)
    assert load_config("spleeter:2stems").segment_seconds == pytest.approx(11.889, abs=1e-3)


def test_user_json_config_in_spleeter_format(tmp_path):
    cfg = {
        "model_dir": "my_model",
        "instrument_list": ["voice", "rest"],
        "mask_extension": "average",
        "F": 1024,
        "model": {"type": "unet.unet", "params": {"conv_n_filters": [8, 8, 16, 16, 32, 32]}},
    }
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(cfg))
    loaded = load_config(path)
    assert loaded.instruments == ("voice", "rest")
    assert loaded.mask_extension == "average"
    assert loaded.conv_filters == (8, 8, 16, 16, 32, 32)
    assert loaded.name == str(path)


@pytest.mark.parametrize(
    ("patch", "message"),
    [
        ({"F": 1000}, "multiple of 64"),
        ({"F": 4096}, "exceeds"),
        ({"mask_extension": "ones"}, "mask_extension"),
        ({"instrument_list": []}, "instrument_list"),
        ({"instrument_list": ["a", "a"]}, "duplicate"),
        ({"model": {"type": "blstm.blstm"}}, "not supported"),
        ({"n_channels": 1}, "stereo"),
    ],
)
def test_invalid_user_configs_are_rejected_with_the_reason(tmp_path, patch, message):
    cfg = {"model_dir": "m", "instrument_list": ["a", "b"], **patch}
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(cfg))
    with pytest.raises(ConfigError, match=message) as info:
        load_config(path)
    assert str(path) in str(info.value)


def test_unknown_descriptors_fail_clearly(tmp_path):
    with pytest.raises(ConfigError, match="unknown embedded configuration"):
        load_config("spleeter:3stems")
    with pytest.raises(ConfigError, match="neither an embedded name"):
        load_config(tmp_path / "missing.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    with pytest.raises(ConfigError, match="cannot read configuration"):
        load_config(broken)
    missing_key = tmp_path / "nokey.json"
    missing_key.write_text(json.dumps({"instrument_list": ["a"]}))
    with pytest.raises(ConfigError, match="model_dir"):
        load_config(missing_key)
