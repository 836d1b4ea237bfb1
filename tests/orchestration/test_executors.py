"""The ``executor`` settings map onto Dagster executors; the default runs a run's steps in its
own process, and that executor still claims the ``separation`` pool's slot."""

import threading

import dagster as dg
import pytest
import yaml

from orchestration.dask_executor import dask_task_key
from orchestration.definitions import build_definitions
from orchestration.executors import executor_for, with_defaults
from resources.settings import StemlineSettings


def _jobs(settings: StemlineSettings) -> list[dg.JobDefinition]:
    defs = build_definitions(settings)
    return [
        defs.resolve_job_def("process_tracks"),
        defs.resolve_job_def("refresh_catalogue"),
        defs.resolve_implicit_global_asset_job_def(),
    ]


def test_default_runs_steps_in_the_run_process(make_settings, tmp_path):
    settings = make_settings(tmp_path)
    assert settings.executor == "in_process" and executor_for(settings) is dg.in_process_executor
    for job in _jobs(settings):
        assert job.executor_def is dg.in_process_executor


def test_multiprocess_keeps_dagsters_executor(make_settings, tmp_path):
    settings = make_settings(tmp_path, executor="multiprocess")
    assert executor_for(settings) is None
    for job in _jobs(settings):
        assert job.executor_def is dg.multi_or_in_process_executor


@pytest.mark.parametrize("kind", ["in_process", "dask", "k8s"])
def test_every_job_uses_the_chosen_executor(make_settings, tmp_path, kind):
    settings = make_settings(tmp_path, executor=kind, dask_address="tcp://127.0.0.1:8786")
    dg.Definitions.validate_loadable(build_definitions(settings))
    for job in _jobs(settings):
        assert job.executor_def.name == kind


def test_dask_cluster_defaults_to_dask_address(make_settings, tmp_path):
    settings = make_settings(tmp_path, executor="dask", dask_address="tcp://10.0.0.1:8786")
    job = build_definitions(settings).resolve_job_def("process_tracks")
    resolved = dg.validate_run_config(job, {})["execution"]["dask"]
    assert resolved == {"cluster": {"existing": {"address": "tcp://10.0.0.1:8786"}}}
    local = make_settings(tmp_path, executor="dask")
    job = build_definitions(local).resolve_job_def("process_tracks")
    assert dg.validate_run_config(job, {})["execution"]["dask"] == {"cluster": {"local": {}}}


def test_settings_reject_an_unknown_executor(monkeypatch, tmp_path):
    monkeypatch.setenv("STEMLINE_EXECUTOR", "celery")
    with pytest.raises(ValueError, match="executor"):
        StemlineSettings.load(tmp_path / "absent.toml")


def test_task_keys_differ_between_runs():
    # dagster_dask's keys (<job>.<step>) collide when two runs share a scheduler.
    assert dask_task_key("process_tracks", "run-a", "stems") != dask_task_key(
        "process_tracks", "run-b", "stems"
    )


def test_executor_config_file_sets_defaults(make_settings, tmp_path):
    config = tmp_path / "run_config.yaml"
    config.write_text(yaml.safe_dump({"execution": {"config": {"retries": {"disabled": {}}}}}))
    settings = make_settings(tmp_path, executor="in_process", executor_config=str(config))
    job = build_definitions(settings).resolve_job_def("process_tracks")
    assert dg.validate_run_config(job, {})["execution"]["in_process"]["retries"] == {"disabled": {}}
    with pytest.raises(ValueError, match="no config"):
        with_defaults(dg.in_process_executor, {"retires": {}})
    with pytest.raises(ValueError, match="executor_config needs"):
        executor_for(make_settings(tmp_path, executor="multiprocess", executor_config=str(config)))


@dg.asset(pool="separation")
def _pooled() -> int:
    return 1


def _pooled_job() -> dg.JobDefinition:
    """A one-step job in the ``separation`` pool on the default ``executor`` setting's executor
    (module level, so that a run of it can be launched from its module)."""
    executor = executor_for(StemlineSettings())
    job = dg.define_asset_job("pooled", [_pooled], executor_def=executor)
    return dg.Definitions(assets=[_pooled], jobs=[job]).resolve_job_def("pooled")


def test_the_default_executor_waits_for_the_separation_pool():
    """A run whose step is in the ``separation`` pool does not start the step while another
    run holds the pool's one slot, and runs once it is freed."""
    overrides = {"concurrency": {"pools": {"default_limit": 1}}}
    with dg.instance_for_test(overrides=overrides) as instance:
        storage = instance.event_log_storage
        storage.set_concurrency_slots("separation", 1)
        assert storage.claim_concurrency_slot("separation", "other-run", "step").is_claimed
        outcome: dict = {}

        def launch() -> None:
            with dg.execute_job(dg.reconstructable(_pooled_job), instance) as result:
                outcome["success"] = result.success
                outcome["run_id"] = result.run_id

        worker = threading.Thread(target=launch)
        worker.start()
        worker.join(timeout=4)
        assert worker.is_alive(), "the step ran while the pool's slot was held"
        storage.free_concurrency_slots_for_run("other-run")
        worker.join(timeout=60)
        assert outcome.get("success") is True
        steps = instance.all_logs(outcome["run_id"], of_type=dg.DagsterEventType.STEP_START)
        assert len(steps) == 1
