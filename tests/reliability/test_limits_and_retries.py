"""Resource limits are enforced before heavy work; transient failures retry, bad audio does not."""

from __future__ import annotations

import dagster as dg
import numpy as np
import pytest
import soundfile as sf

import assets.track_assets
from catalogue.query import run_query
from orchestration.definitions import build_definitions
from orchestration.pipeline import run_folder
from resources.separation_engine import SeparationEngine
from separation import ModelUnavailable
from tests.run_resources import track_run_resources


def write(path, seconds, rate=8000, channels=1):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.zeros((int(seconds * rate), channels), np.float32) + 0.01, rate)


@pytest.fixture(scope="module")
def run_resources():
    """The engine and feature pool, set up once for the module's job runs
    (``tests/run_resources.py``)."""
    with track_run_resources() as resources:
        yield resources


def test_too_long_and_absurd_files_are_rejected_before_separation(
    make_settings, instance, tmp_path
):
    audio = tmp_path / "audio"
    write(audio / "long.wav", 3.0)
    write(audio / "many.wav", 0.5, channels=40)
    summary = run_folder(make_settings(audio, max_duration_s=2.0), instance=instance)
    assert len(summary.failed) == 2
    errors = run_query(tmp_path / "data", "SELECT path, error FROM tracks ORDER BY path")
    long_err, many_err = errors["error"].to_list()
    assert "longer than the configured maximum (2 s)" in long_err
    assert "40 channels is beyond the limits" in many_err
    assert not (tmp_path / "data" / "stems").exists()  # no separation was attempted


def step_events(result, step, kind):
    return [e for e in result.all_events if e.step_key == step and e.event_type_value == kind]


def test_transient_model_failure_is_retried(make_settings, instance, tmp_path, monkeypatch):
    audio = tmp_path / "audio"
    write(audio / "ok.wav", 1.0)
    settings = make_settings(audio)
    real = SeparationEngine._load
    calls = {"n": 0}

    def flaky(self):
        calls["n"] += 1
        if calls["n"] <= 2:
            raise ModelUnavailable("release download timed out")
        return real(self)

    # The batch step's first two attempts fail to load the model (an error of the whole batch,
    # so the step fails and its retry policy applies); the second retry loads it. The policy is
    # the assets' own, its delay cut to 10 ms so the test does not sleep through 5 s + 10 s.
    monkeypatch.setattr(SeparationEngine, "_load", flaky)
    policy = assets.track_assets.TRANSIENT_RETRIES
    assert policy.max_retries == 2 and policy.delay > 0
    fast = dg.RetryPolicy(max_retries=policy.max_retries, delay=0.01, backoff=policy.backoff)
    monkeypatch.setattr(assets.track_assets, "TRANSIENT_RETRIES", fast)
    summary = run_folder(settings, instance=instance)
    assert summary.processed and not summary.failed
    assert calls["n"] == 3


def test_bad_audio_is_not_retried(make_settings, instance, tmp_path, run_resources):
    audio = tmp_path / "audio"
    (audio).mkdir()
    (audio / "bad.wav").write_text("not audio")
    settings = make_settings(audio)
    run_folder(settings, instance=instance)
    key = instance.get_dynamic_partitions("tracks")[0]
    job = build_definitions(settings, resources=run_resources).resolve_job_def("process_tracks")
    result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
    assert not result.success
    # the track assets are one step per batch (`tracks`); a bad file fails it, never retried
    assert step_events(result, "tracks", "STEP_FAILURE")
    assert not step_events(result, "tracks", "STEP_UP_FOR_RETRY")
