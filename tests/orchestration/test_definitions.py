"""The Dagster definitions load as `dagster dev -w workspace.yaml` loads them."""

from __future__ import annotations

import json
import subprocess
import sys

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


def test_loading_the_definitions_imports_no_heavy_library(tmp_path):
    # Every `stemline` command and every UI code-server start pays for what the definitions
    # import: the model, feature, scoring and plotting libraries load in the steps that use them.
    code = (
        "import json, sys\n"
        "from orchestration.definitions import build_definitions\n"
        "from orchestration.pipeline import run_folder\n"
        "from resources.settings import StemlineSettings\n"
        f"build_definitions(StemlineSettings(storage_root={str(tmp_path)!r}))\n"
        "heavy = ('tensorflow', 'keras', 'jax', 'torch', 'essentia.standard', 'onnxruntime',\n"
        "         'scipy', 'mir_eval', 'matplotlib', 'duckdb')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.splitlines()[-1]) == []
