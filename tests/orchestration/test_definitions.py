"""The Dagster definitions load as `dagster dev -w workspace.yaml` loads them."""

from __future__ import annotations

import dagster as dg

from orchestration.definitions import build_definitions


def test_definitions_are_loadable(make_settings, tmp_path):
    defs = build_definitions(make_settings(tmp_path))
    dg.Definitions.validate_loadable(defs)
    keys = {k.to_user_string() for k in defs.resolve_asset_graph().get_all_asset_keys()}
    assert keys == {
        "track_audio",
        "stems",
        "stem_features",
        "separation_eval",
        "transcription_prep",
        "catalogue",
        "dataset_report",
    }
    assert defs.resolve_sensor_def("audio_folder_sensor") is not None
    stems = defs.resolve_assets_def("stems")
    assert stems.op.pool == "separation"
    assert defs.resolve_assets_def("catalogue").op.pool == "catalogue"


def test_module_level_defs_load_from_the_environment(monkeypatch, tmp_path):
    import importlib

    monkeypatch.setenv("STEMLINE_STORAGE_ROOT", str(tmp_path / "store"))
    monkeypatch.setenv("STEMLINE_AUDIO_ROOTS", f"{tmp_path / 'a'}:{tmp_path / 'b'}")
    import orchestration.definitions as module

    module = importlib.reload(module)
    settings = module.defs.resources["settings"]
    assert settings.storage_root == str(tmp_path / "store")
    assert settings.audio_roots == [str(tmp_path / "a"), str(tmp_path / "b")]
