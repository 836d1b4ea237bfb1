"""The Dagster executor of stemline's jobs, chosen by the ``executor`` setting.

``multiprocess`` keeps Dagster's default executor (one process per step on this machine),
``in_process`` runs every step in the run's process, ``k8s`` is ``dagster_k8s``'s
``k8s_job_executor`` (one Kubernetes job per step) and ``dask`` is :func:`dask_executor`, which
runs each step as a task on a ``dask.distributed`` cluster.

:func:`dask_executor` is ``dagster_dask``'s executor with the same run config (``cluster:
{existing: {address: ...}}``, ``local``, ``slurm``, ``pbs``, ``kube``, ...) and four changes:

- the ``cluster`` has a default (the ``dask_address`` setting, else a local cluster), so runs
  launched by the sensor need no run config;
- Dask task keys carry the run id. ``dagster_dask`` names a step's task ``<job>.<step>``, and
  Dask treats equal keys as the same task: two runs of ``process_tracks`` on one scheduler
  (the sensor requests one run per track) would share the first run's results, and the second
  run's steps would never execute (dagster-io/dagster#21418);
- Dagster's run and plan objects reach the task inside a ``functools.partial``: current Dask
  walks tuple-like task arguments, and ``dagster_dask`` 0.29's plain arguments fail there
  ("Iteration is not allowed on `@record` RunOpConcurrency");
- a cluster the executor starts for a run (``local``, ``slurm``, ...) is closed when the run
  ends, so SLURM jobs are cancelled then rather than when the run process exits.

The ``executor_config`` setting names a run config file (``deploy/*/dagster_run_config.yaml``)
whose ``execution.config`` becomes the executor's defaults (:func:`with_defaults`), so runs
launched without run config (the sensor's) get them too; a run's own ``execution`` still wins.

The Dask executor does not claim Dagster pool slots (``separation``, ``catalogue``): on Dask,
the cluster's workers and threads bound the concurrent steps (``deploy/README.md``).
"""

import contextlib
import functools
import importlib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import dask.distributed
import yaml
from dagster import _check as check
from dagster._core.definitions.executor_definition import multiple_process_executor_requirements
from dagster._core.errors import raise_execution_interrupts
from dagster._core.events import DagsterEvent
from dagster._core.execution.context.system import PlanOrchestrationContext
from dagster._core.execution.plan.plan import ExecutionPlan
from dagster._utils import iterate_with_context
from dagster_dask import dask_executor as _dagster_dask_executor
from dagster_dask.executor import (
    DaskExecutor,
    get_dask_resource_requirements,
    query_on_dask_worker,
)

from assets.settings import StemlineSettings

#: Cluster classes by the name ``dagster_dask`` gives them in the run config.
CLUSTER_CLASSES = {
    "local": "dask.distributed.LocalCluster",
    "ssh": "dask.distributed.SSHCluster",
    "yarn": "dask_yarn.YarnCluster",
    "pbs": "dask_jobqueue.PBSCluster",
    "moab": "dask_jobqueue.MoabCluster",
    "sge": "dask_jobqueue.SGECluster",
    "lsf": "dask_jobqueue.LSFCluster",
    "slurm": "dask_jobqueue.SLURMCluster",
    "oar": "dask_jobqueue.OARCluster",
    "kube": "dask_kubernetes.KubeCluster",
}


def dask_task_key(job_name: str, run_id: str, step_key: str) -> str:
    """The Dask key of one step of one run: unique across runs sharing a scheduler."""
    return f"{job_name}.{run_id}.{step_key}"


class RunScopedDaskExecutor(DaskExecutor):
    """``dagster_dask``'s executor with run-scoped task keys and clusters closed after the run."""

    def cluster(self, job_name: str) -> contextlib.AbstractContextManager[Any]:
        """The scheduler address of an existing cluster, or a cluster started for this run
        (closed on exit); keyword arguments are the run config's, as in ``dagster_dask``."""
        if self.cluster_type == "existing":
            return contextlib.nullcontext(self.cluster_configuration["address"])
        if self.cluster_type not in CLUSTER_CLASSES:
            raise ValueError(f"unknown Dask cluster type {self.cluster_type!r}")
        module, _, name = CLUSTER_CLASSES[self.cluster_type].rpartition(".")
        cls = getattr(importlib.import_module(module), name)
        return cls(**self.build_dict(job_name))

    def execute(
        self, plan_context: PlanOrchestrationContext, execution_plan: ExecutionPlan
    ) -> Iterator[DagsterEvent]:
        """Submit every step as a Dask task that waits on its upstream steps' tasks, and yield
        the Dagster events the workers return, as the tasks finish."""
        check.invariant(
            plan_context.instance.is_persistent,
            "Dask execution requires a persistent DagsterInstance (set DAGSTER_HOME)",
        )
        job_name = plan_context.job_name
        run = plan_context.dagster_run
        instance_ref = plan_context.instance.get_ref()
        with self.cluster(job_name) as cluster, dask.distributed.Client(cluster) as client:
            futures: dict[str, dask.distributed.Future] = {}
            for level in execution_plan.get_steps_to_execute_by_level():
                for step in level:
                    upstream = [
                        futures[key]
                        for step_input in step.step_inputs
                        for key in step_input.dependency_keys
                    ]
                    # Dagster's records travel inside a partial: Dask walks tuple-like task
                    # arguments, and iterating a Dagster @record (in DagsterRun) raises.
                    step_task = functools.partial(
                        query_on_dask_worker,
                        recon_job=plan_context.reconstructable_job,
                        dagster_run=run,
                        run_config=plan_context.run_config,
                        step_keys=[step.key],
                        instance_ref=instance_ref,
                        known_state=execution_plan.known_state,
                    )
                    futures[step.key] = client.submit(
                        step_task,
                        upstream,
                        key=dask_task_key(job_name, run.run_id, step.key),
                        resources=get_dask_resource_requirements(step.tags),
                    )
            finished = dask.distributed.as_completed(list(futures.values()), with_results=True)
            for _future, events in iterate_with_context(raise_execution_interrupts, finished):
                for event in events:
                    yield check.inst(event, DagsterEvent)


def dask_executor(default_address: str = "") -> dg.ExecutorDefinition:
    """The Dask executor (run config as ``dagster_dask.dask_executor``) whose ``cluster``
    defaults to the scheduler at ``default_address``, or to a local cluster without one."""
    schema = _dagster_dask_executor.config_schema.as_field().config_type
    cluster_type = schema.fields["cluster"].config_type
    default = {"existing": {"address": default_address}} if default_address else {"local": {}}

    @dg.executor(
        name="dask",
        config_schema={"cluster": dg.Field(cluster_type, default_value=default)},
        requirements=multiple_process_executor_requirements(),
    )
    def stemline_dask_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
        """Runs each step as a task on a ``dask.distributed`` cluster (see the module)."""
        ((kind, config),) = init_context.executor_config["cluster"].items()
        return RunScopedDaskExecutor(kind, config)

    return stemline_dask_executor


def with_defaults(
    executor: dg.ExecutorDefinition, defaults: Mapping[str, Any]
) -> dg.ExecutorDefinition:
    """``executor`` with ``defaults`` as the default values of its top-level config fields.

    Run config still replaces a field as a whole. A key the executor does not have, or a value
    its schema rejects, raises here, when the definitions load.
    """
    shape = executor.config_schema.as_field().config_type
    if not isinstance(shape, dg.Shape):
        raise ValueError(f"the {executor.name!r} executor takes no executor_config defaults")
    fields = shape.fields
    unknown = set(defaults) - set(fields)
    if unknown:
        raise ValueError(f"{executor.name!r} executor has no config {sorted(unknown)}")
    schema = {
        key: dg.Field(
            field.config_type,
            default_value=defaults[key],
            is_required=False,
            description=field.description,
        )
        if key in defaults
        else field
        for key, field in fields.items()
    }
    return executor.configured(lambda config: config, config_schema=schema)


def execution_config(path: str | Path) -> dict[str, Any]:
    """The ``execution.config`` of a run config YAML file (empty if it has none)."""
    run_config = yaml.safe_load(Path(path).read_text()) or {}
    return dict((run_config.get("execution") or {}).get("config") or {})


def executor_for(settings: StemlineSettings) -> dg.ExecutorDefinition | None:
    """The executor the ``executor`` setting names, with the defaults of ``executor_config``
    if set; ``None`` keeps Dagster's default."""
    executor = _named_executor(settings)
    if not settings.executor_config:
        return executor
    if executor is None:
        raise ValueError("executor_config needs executor = 'in_process', 'dask' or 'k8s'")
    return with_defaults(executor, execution_config(settings.executor_config))


def _named_executor(settings: StemlineSettings) -> dg.ExecutorDefinition | None:
    kind = settings.executor
    if kind == "multiprocess":
        return None
    if kind == "in_process":
        return dg.in_process_executor
    if kind == "dask":
        return dask_executor(settings.dask_address)
    if kind == "k8s":
        try:
            from dagster_k8s import k8s_job_executor
        except ImportError as exc:  # an optional extra
            raise ImportError(
                "executor = 'k8s' needs dagster-k8s: pip install 'stemline[k8s]'"
            ) from exc
        return k8s_job_executor
    raise ValueError(f"unknown executor {kind!r}")
