"""The Dask executor: each step of a run as a task on a ``dask.distributed`` cluster.

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

It is built on ``dagster_dask``'s executor class and worker function and on Dagster's public
API; Dagster's internal types appear only in annotations. Importing this module imports Dask,
so :mod:`orchestration.executors` imports it only when the ``dask`` executor is chosen.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import signal
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import dagster as dg
import dask.distributed
from dagster_dask import dask_executor as dagster_dask_executor
from dagster_dask.executor import (
    DaskExecutor,
    get_dask_resource_requirements,
    query_on_dask_worker,
)

if TYPE_CHECKING:
    from dagster._core.execution.context.system import PlanOrchestrationContext
    from dagster._core.execution.plan.plan import ExecutionPlan

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


@contextlib.contextmanager
def interrupts_raise() -> Iterator[None]:
    """Let an interrupt (a terminated run) stop the wait for Dask results at once.

    Dagster defers SIGINT while a run executes; in the block it raises
    :class:`dagster.DagsterExecutionInterruptedError` instead, as Dagster's own executors do
    while they wait. Signal handlers belong to the main thread; elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupted(_signo: int, _frame: object) -> None:
        raise dg.DagsterExecutionInterruptedError()

    previous = signal.signal(signal.SIGINT, interrupted)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


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
    ) -> Iterator[dg.DagsterEvent]:
        """Submit every step as a Dask task that waits on its upstream steps' tasks, and yield
        the Dagster events the workers return, as the tasks finish."""
        if not plan_context.instance.is_persistent:
            raise dg.DagsterInvariantViolationError(
                "Dask execution requires a persistent DagsterInstance (set DAGSTER_HOME)"
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
            while True:
                with interrupts_raise():
                    done = next(finished, None)
                if done is None:
                    break
                for event in done[1]:
                    if not isinstance(event, dg.DagsterEvent):
                        raise dg.DagsterInvariantViolationError(f"not a Dagster event: {event!r}")
                    yield event


def dask_executor(default_address: str = "") -> dg.ExecutorDefinition:
    """The Dask executor (run config as ``dagster_dask.dask_executor``) whose ``cluster``
    defaults to the scheduler at ``default_address``, or to a local cluster without one."""
    schema = dagster_dask_executor.config_schema.as_field().config_type
    cluster_type = schema.fields["cluster"].config_type
    default = {"existing": {"address": default_address}} if default_address else {"local": {}}

    @dg.executor(
        name="dask",
        config_schema={"cluster": dg.Field(cluster_type, default_value=default)},
        requirements=dg.multiple_process_executor_requirements(),
    )
    def stemline_dask_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
        """Runs each step as a task on a ``dask.distributed`` cluster (see the module)."""
        ((kind, config),) = init_context.executor_config["cluster"].items()
        return RunScopedDaskExecutor(kind, config)

    return stemline_dask_executor
