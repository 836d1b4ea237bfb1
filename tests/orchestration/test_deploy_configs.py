"""The example cluster configurations in ``deploy/`` are valid for stemline's own jobs.

Each file is checked by the code that will read it: run configs by Dagster against the
``process_tracks`` job that stemline builds from the deployment's settings; the ``slurm``
section by dask-jobqueue's ``SLURMCluster`` (built as the executor builds it, without submitting
jobs), the Kubernetes step config by dagster-k8s's job builder (which rejects unknown
Kubernetes fields); instance files by Dagster's instance schema. A misspelt key fails each check.
"""

import copy
import os
import re
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import dagster as dg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config, dagster_instance_config_schema

from orchestration.dask_executor import RunScopedDaskExecutor
from orchestration.definitions import CATALOGUE_WRITER_TAG, build_definitions
from resources.settings import StemlineSettings

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
IMAGE_ROOT = "/opt/stemline"  # where deploy/k8s/Dockerfile puts this repository
SLURM_RUN_CONFIG = DEPLOY / "slurm" / "dagster_run_config.yaml"
K8S_RUN_CONFIG = DEPLOY / "k8s" / "dagster_run_config.yaml"


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def _misspelt(config: dict, path: Sequence[str]) -> dict:
    """A copy of ``config`` whose key at ``path`` lost its last letter."""
    config = copy.deepcopy(config)
    parent = config
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1][:-1]] = parent.pop(path[-1])
    return config


@pytest.fixture
def deployment_settings(monkeypatch, tmp_path) -> Callable[..., StemlineSettings]:
    """Settings exactly as a deployment's processes load them: only from the given file and
    variables, none from this machine's environment."""

    def load(env: dict[str, str], config_file: Path | None = None) -> StemlineSettings:
        for key in [k for k in os.environ if k.startswith("STEMLINE_")]:
            monkeypatch.delenv(key)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return StemlineSettings.load(config_file or tmp_path / "absent.toml")

    return load


# SLURM: the Dask executor with a cluster of SLURM jobs -----------------------------------------


def _slurm_process_tracks(deployment_settings) -> dg.JobDefinition:
    settings = deployment_settings({}, DEPLOY / "slurm" / "stemline.toml")
    assert settings.executor == "dask" and settings.dask_address.startswith("tcp://")
    return build_definitions(settings).resolve_job_def("process_tracks")


def check_slurm_run_config(run_config: dict, job: dg.JobDefinition) -> str:
    """Validate ``run_config`` for ``job``, build its SLURM cluster as the executor does (no
    workers, so nothing is submitted; scheduler on 127.0.0.1) and return the batch script."""
    dg.validate_run_config(job, run_config)
    ((kind, kwargs),) = run_config["execution"]["config"]["cluster"].items()
    kwargs = {
        **kwargs,
        "n_workers": 0,
        "scheduler_options": {"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
    }
    with RunScopedDaskExecutor(kind, kwargs).cluster(job.name) as cluster:
        return cluster.job_script()


def test_slurm_run_config_is_valid(deployment_settings):
    job = _slurm_process_tracks(deployment_settings)
    assert job.executor_def.name == "dask"
    script = check_slurm_run_config(_yaml(SLURM_RUN_CONFIG), job)
    assert "#SBATCH -J stemline-dask" in script
    assert "#SBATCH --gres=gpu:1" in script
    assert "#SBATCH --cpus-per-task=8" in script
    assert "--nthreads 1" in script  # one step at a time per worker
    assert "export DASK_DISTRIBUTED__WORKER__DAEMON=False" in script


@pytest.mark.parametrize(
    "path",
    [
        ("execution", "config", "cluster"),  # Dagster's executor schema
        ("execution", "config", "cluster", "slurm"),
        ("execution", "config", "cluster", "slurm", "walltime"),  # SLURMCluster's arguments
        ("execution", "config", "cluster", "slurm", "job_extra_directives"),
    ],
)
def test_slurm_run_config_with_a_misspelt_key_fails(deployment_settings, path):
    job = _slurm_process_tracks(deployment_settings)
    with pytest.raises((dg.DagsterInvalidConfigError, ValueError), match="unexpected"):
        check_slurm_run_config(_misspelt(_yaml(SLURM_RUN_CONFIG), path), job)


def test_slurm_instance_config_is_valid(tmp_path):
    config, _ = dagster_instance_config(str(DEPLOY / "slurm"))
    limits = config["concurrency"]["runs"]["tag_concurrency_limits"]
    assert {"key": CATALOGUE_WRITER_TAG, "limit": 1} in limits
    bad = _misspelt(
        _yaml(DEPLOY / "slurm" / "dagster.yaml"), ("storage", "postgres", "postgres_db", "hostname")
    )
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(bad))
    with pytest.raises(dg.DagsterInvalidConfigError):
        dagster_instance_config(str(tmp_path))


# Kubernetes: one Kubernetes job per step --------------------------------------------------------


def _k8s_config_map() -> dict[str, Any]:
    docs = yaml.safe_load_all((DEPLOY / "k8s" / "stemline.yaml").read_text())
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap"]
    return config_map


def _k8s_settings_env() -> dict[str, str]:
    """The ConfigMap's variables, with the image's paths mapped onto this checkout."""
    data = _k8s_config_map()["data"]
    return {k: v.replace(IMAGE_ROOT, str(REPO)) for k, v in data.items()}


def _k8s_process_tracks(deployment_settings) -> dg.JobDefinition:
    settings = deployment_settings(_k8s_settings_env())
    assert settings.executor == "k8s"
    return build_definitions(settings).resolve_job_def("process_tracks")


def check_k8s_run_config(run_config: dict, job: dg.JobDefinition) -> dict[str, Any]:
    """Validate ``run_config`` for ``job`` and render each step's Kubernetes job as the
    k8s_job_executor would (``dagster_k8s`` builds the Kubernetes models and rejects unknown
    fields); returns the jobs by op name."""
    from dagster_k8s.container_context import K8sContainerContext
    from dagster_k8s.job import UserDefinedDagsterK8sConfig, construct_dagster_k8s_job

    resolved = dg.validate_run_config(job, run_config)["execution"]
    ((_name, executor_config),) = resolved.items()
    executor_config = executor_config.get("config", executor_config)
    ops = {node.name for node in job.graph.nodes}
    per_step = executor_config.get("per_step_k8s_config", {})
    if unknown := set(per_step) - ops:  # Dagster accepts any key there
        raise ValueError(f"per_step_k8s_config names no op of {job.name}: {sorted(unknown)}")
    context = K8sContainerContext(
        env_config_maps=executor_config.get("env_config_maps"),
        env_secrets=executor_config.get("env_secrets"),
        env_vars=executor_config.get("env_vars"),
        volume_mounts=executor_config.get("volume_mounts"),
        volumes=executor_config.get("volumes"),
        namespace=executor_config.get("job_namespace"),
        resources=executor_config.get("resources"),
        run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(
            executor_config.get("step_k8s_config", {})
        ),
    )
    launcher = types.SimpleNamespace(
        job_image=None,
        dagster_home="/opt/dagster/dagster_home",
        instance_config_map="dagster-instance",
        postgres_password_secret="dagster-postgresql-secret",
    )
    jobs = {}
    for op in sorted(ops):
        step = context.merge(
            K8sContainerContext(
                run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(per_step.get(op, {}))
            )
        )
        jobs[op] = construct_dagster_k8s_job(
            job_config=step.get_k8s_job_config("registry.example.org/stemline:0.1.0", launcher),
            args=["dagster", "api", "execute_step"],
            job_name=f"dagster-step-{op.replace('_', '-')}",
            pod_name=f"dagster-step-{op.replace('_', '-')}",
            component="step_worker",
            user_defined_k8s_config=step.run_k8s_config,
        )
    return jobs


def _limits(k8s_job) -> dict[str, Any]:
    (container,) = k8s_job.spec.template.spec.containers
    return container.resources.limits or {}


def test_k8s_run_config_requests_a_gpu_for_the_track_batches(deployment_settings):
    # A run of the track assets is one step (a batch of tracks, separation included), the
    # Kubernetes job that gets the GPU.
    job = _k8s_process_tracks(deployment_settings)
    assert job.executor_def.name == "k8s"
    jobs = check_k8s_run_config(_yaml(K8S_RUN_CONFIG), job)
    assert set(jobs) == {"tracks"}
    assert str(_limits(jobs["tracks"])["nvidia.com/gpu"]) == "1"
    tolerations = jobs["tracks"].spec.template.spec.tolerations
    assert [t.key for t in tolerations] == ["nvidia.com/gpu"]


def test_k8s_executor_defaults_apply_to_runs_without_run_config(deployment_settings):
    # The sensor's runs carry no run config: the settings' executor_config still gives the GPU.
    dockerfile = (DEPLOY / "k8s" / "Dockerfile").read_text()
    assert f"WORKDIR {IMAGE_ROOT}" in dockerfile
    assert (
        "COPY deploy/k8s/dagster_run_config.yaml deploy/k8s/dagster_run_config.yaml" in dockerfile
    )
    job = _k8s_process_tracks(deployment_settings)
    jobs = check_k8s_run_config({}, job)
    assert str(_limits(jobs["tracks"])["nvidia.com/gpu"]) == "1"
    # A run's own execution config replaces a default key by key.
    own = {"execution": {"config": {"per_step_k8s_config": {}}}}
    assert "nvidia.com/gpu" not in _limits(check_k8s_run_config(own, job)["tracks"])


@pytest.mark.parametrize(
    "path",
    [
        ("execution", "config", "per_step_k8s_config"),  # Dagster's executor schema
        ("execution", "config", "per_step_k8s_config", "tracks", "container_config"),
        ("execution", "config", "per_step_k8s_config", "tracks"),  # no such op
        ("execution", "config", "per_step_k8s_config", "tracks", "container_config", "resources"),
        ("execution", "config", "per_step_k8s_config", "tracks", "pod_spec_config", "tolerations"),
    ],
)
def test_k8s_run_config_with_a_misspelt_key_fails(deployment_settings, path):
    job = _k8s_process_tracks(deployment_settings)
    with pytest.raises(Exception, match=r"unexpected|Unexpected|no op"):
        check_k8s_run_config(_misspelt(_yaml(K8S_RUN_CONFIG), path), job)


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def test_helm_values_match_stemline(deployment_settings):
    values = _yaml(DEPLOY / "k8s" / "values.yaml")
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    assert deployment["dagsterApiGrpcArgs"] == ["-m", "orchestration.definitions", "-a", "defs"]
    settings_map = _k8s_config_map()
    assert deployment["envConfigMaps"] == [{"name": settings_map["metadata"]["name"]}]
    # Every variable of the ConfigMap is a stemline setting (a typo would be ignored silently).
    settings_keys = {f"STEMLINE_{k.upper()}" for k in StemlineSettings.model_fields}
    assert set(settings_map["data"]) <= settings_keys
    (mount,) = deployment["volumeMounts"]
    assert settings_map["data"]["STEMLINE_STORAGE_ROOT"].startswith(mount["mountPath"] + "/")
    # The chart writes `concurrency` into dagster.yaml with snake_case keys.
    concurrency = {
        _snake(group): {_snake(k): v for k, v in body.items()}
        for group, body in values["concurrency"].items()
        if group != "enabled"
    }
    result = validate_config(dagster_instance_config_schema(), {"concurrency": concurrency})
    assert result.success, result.errors
    assert {"key": CATALOGUE_WRITER_TAG, "limit": 1} in concurrency["runs"][
        "tag_concurrency_limits"
    ]
