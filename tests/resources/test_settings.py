"""StemlineSettings: defaults, the config file and STEMLINE_* variables, the storage layout."""

from __future__ import annotations

from pathlib import Path

from resources.settings import StemlineSettings


def test_environment_overrides_the_config_file_which_overrides_defaults(monkeypatch, tmp_path):
    config = tmp_path / "stemline.toml"
    config.write_text('storage_root = "from-file"\ncodec = "wav"\n')
    monkeypatch.setenv("STEMLINE_STORAGE_ROOT", str(tmp_path / "from-env"))
    settings = StemlineSettings.load(config)
    assert settings.storage_root == str(tmp_path / "from-env")
    assert settings.codec == "wav"
    assert settings.model == "spleeter:2stems"  # the default


def test_layout_and_model_name(tmp_path):
    settings = StemlineSettings(storage_root=str(tmp_path / "data"), model="spleeter:4stems")
    assert settings.layout.root == Path(tmp_path / "data").absolute()
    assert settings.model_name == "4stems"
