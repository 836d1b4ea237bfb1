"""The Dagster executor of stemline's jobs, chosen by the ``executor`` setting.

``in_process`` (the default) runs every step in the run's process: a run of the track assets
is one step (the multi-asset, with its checks evaluated inside it) and a catalogue run two
light ones, so a process per step would only start Python and import the definitions again.
Pools (``separation``, ``catalogue``) are claimed by the
in-process executor as by the others, per step, across runs. ``multiprocess`` keeps Dagster's
default executor (one process per step on this machine), ``k8s`` is ``dagster_k8s``'s
``k8s_job_executor`` (one Kubernetes job per step) and ``dask`` is
:func:`orchestration.dask_executor.dask_executor`, which runs each step as a task on a
``dask.distributed`` cluster; Dask and ``dagster_dask`` are imported only when it is chosen.

The ``executor_config`` setting names a run config file (``deploy/*/dagster_run_config.yaml``)
whose ``execution.config`` becomes the executor's defaults (:func:`with_defaults`), so runs
launched without run config (the sensor's) get them too; a run's own ``execution`` still wins.

The Dask executor does not claim Dagster pool slots (``separation``, ``catalogue``): on Dask,
the cluster's workers and threads bound the concurrent steps (``deploy/README.md``).
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from resources.settings import StemlineSettings


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
    if set; ``None`` (``multiprocess``) keeps Dagster's default."""
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
        from .dask_executor import dask_executor  # Dask only where it is the executor

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
