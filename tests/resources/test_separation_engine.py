"""SeparationEngine: code versions that are constants of the code, one model load per process."""

from __future__ import annotations

import json
from importlib import resources as package_files

import dagster as dg
import numpy as np
import soundfile as sf

from orchestration.definitions import build_definitions
from orchestration.pipeline import run_folder
from resources.feature_pool import FeaturePool
from resources.separation_engine import (
    ENGINE_VERSION,
    SeparationEngine,
    expected_checkpoint_digest,
    stems_code_version,
)
from separation.configs import load_config
from separation.provider import RELEASE_SHA256, default_model_path


def write_tone(path, freq, seconds=1.0, rate=44100):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.2 * np.sin(2 * np.pi * freq * t), rate)


def code_versions(defs: dg.Definitions) -> dict[str, str | None]:
    graph = defs.resolve_asset_graph()
    return {key.to_user_string(): graph.get(key).code_version for key in graph.get_all_asset_keys()}


def sensor_run_keys(settings) -> list[str]:
    with dg.instance_for_test() as instance:
        sensor = build_definitions(settings).resolve_sensor_def("audio_folder_sensor")
        context = dg.build_sensor_context(instance=instance, resources={"settings": settings})
        return [request.run_key for request in sensor(context).run_requests]


def test_code_versions_do_not_depend_on_the_weights_being_present(
    make_settings, monkeypatch, tmp_path
):
    audio = tmp_path / "audio"
    write_tone(audio / "a.wav", 440.0)
    with_weights = make_settings(audio)
    assert (default_model_path() / "2stems").is_dir()  # the weights the suite runs with
    present = code_versions(build_definitions(with_weights))
    keys_present = sensor_run_keys(with_weights)

    empty = tmp_path / "no-models"
    empty.mkdir()
    monkeypatch.setenv("MODEL_PATH", str(empty))
    without_weights = make_settings(audio, storage_root=str(tmp_path / "other"))
    missing = code_versions(build_definitions(without_weights))
    assert missing == present
    assert sensor_run_keys(without_weights) == keys_present
    assert present["stems"] == f"spleeter:2stems@{RELEASE_SHA256['2stems'][:12]}/engine2"
    assert list(empty.iterdir()) == []  # nothing was fetched or written


def test_the_code_version_names_model_expected_checkpoint_and_options():
    base = SeparationEngine().code_version()
    assert base == stems_code_version("spleeter:2stems")
    assert base.endswith(f"/engine{ENGINE_VERSION}")
    # Options that change the stems change it; where and how fast they are computed does not.
    assert SeparationEngine(mwf=True).code_version() == base.replace("2stems@", "2stems+mwf@")
    assert SeparationEngine(overlap=True).code_version() != base
    assert SeparationEngine(precision="tf32").code_version() == base.replace("@", "+tf32@")
    assert SeparationEngine(precision="bf16", mwf=True).code_version() == base.replace(
        "@", "+mwf+bf16@"
    )
    assert SeparationEngine(precision="exact", backend="jax").code_version() == base
    same = SeparationEngine(device="cpu", batch_tracks=4, chunk_segments=2).code_version()
    assert same == base
    # The 16 kHz variant loads the 2stems checkpoint, but is another model.
    wide = SeparationEngine(model="spleeter:2stems-16kHz").code_version()
    assert wide != base and RELEASE_SHA256["2stems"][:12] in wide


def test_a_json_configuration_outside_the_tables_is_named_by_its_values(tmp_path):
    raw = json.loads(
        package_files.files("separation").joinpath("resources/2stems.json").read_text()
    )
    raw["model_dir"] = "my-finetuned-2stems"
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(raw))
    second.write_text(json.dumps(raw))
    digest = expected_checkpoint_digest(load_config(first))
    assert digest.startswith("cfg-") and len(digest) == 16
    assert expected_checkpoint_digest(load_config(second)) == digest  # not where it was read
    raw["model_dir"] = "another-checkpoint"
    first.write_text(json.dumps(raw))
    assert expected_checkpoint_digest(load_config(first)) != digest


def test_set_up_once_per_stemline_run_and_the_loaded_digest_recorded(
    make_settings, instance, monkeypatch, tmp_path
):
    audio = tmp_path / "audio"
    write_tone(audio / "a.wav", 440.0)
    write_tone(audio / "b.wav", 330.0)
    calls = {"load": 0, "pool": 0}
    load, start = SeparationEngine._load, FeaturePool._start

    def counted_load(self):
        calls["load"] += 1
        return load(self)

    def counted_start(self):
        calls["pool"] += 1
        return start(self)

    monkeypatch.setattr(SeparationEngine, "_load", counted_load)
    monkeypatch.setattr(FeaturePool, "_start", counted_start)
    summary = run_folder(make_settings(audio), instance=instance)
    assert len(summary.processed) == 2 and not summary.failed
    assert calls["load"] == 1  # one model load for the folder, not one per track
    assert calls["pool"] == (1 if FeaturePool(workers=2).processes > 1 else 0)

    loaded = SeparationEngine().separator().model_files.checkpoint_sha256
    events = instance.fetch_materializations(dg.AssetKey("stems"), limit=10).records
    assert len(events) == 2
    versions = set()
    for record in events:
        materialization = record.asset_materialization
        assert materialization.metadata["checkpoint_sha256"].value == loaded
        versions.add(materialization.tags["dagster/data_version"])
    assert len(versions) == 2  # one per track content
