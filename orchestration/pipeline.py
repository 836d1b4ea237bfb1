"""Run the pipeline without the UI: ``stemline run AUDIO_DIR`` and ``stemline demo``.

The same assets, checks and storage as the UI, executed in this process through Dagster's
``materialize`` against the instance in ``DAGSTER_HOME`` (default ``<storage_root>/.dagster``),
so runs show up in ``stemline ui`` afterwards. Tracks are processed one partition at a time in
one process, so the separation model loads once for the whole folder. Only tracks whose final
outputs are missing or whose stems came from another model or checkpoint are processed; the
rest are skipped. The tracks' ``stem_features`` steps share one pool of feature worker
processes, started once per call.
"""

import logging
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl

from assets.engine import stems_code_version
from assets.partitions import TRACKS
from assets.settings import StemlineSettings
from assets.stem_features import shared_feature_pool
from catalogue.atomic import exclusive_lock, process_alive
from catalogue.inventory import update_inventory
from separation.configs import load_config

from .definitions import build_definitions

log = logging.getLogger(__name__)

DAGSTER_YAML = """\
# Written by stemline. Pools cap concurrent heavy steps across runs: `separation` (the model;
# raise it to the number of GPUs with `dagster instance concurrency set separation N`) and
# `catalogue` (one writer).
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
"""


def ensure_dagster_home(settings: StemlineSettings) -> Path:
    """Point ``DAGSTER_HOME`` at a persistent instance folder with stemline's pool limits."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.layout.root / ".dagster").absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        config.write_text(DAGSTER_YAML)
    os.environ["DAGSTER_HOME"] = str(home)
    return home


@dataclass
class RunSummary:
    """What ``run_folder`` did."""

    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def needs_processing(settings: StemlineSettings, track_id: str, code_version: str) -> bool:
    """Whether a track lacks final outputs or has stems from another model/checkpoint."""
    layout = settings.layout
    stems = layout.stems_table(settings.model_name, track_id)
    if (
        not stems.is_file()
        or not (
            layout.transcription_dir(settings.model_name, track_id) / "manifest.parquet"
        ).is_file()
    ):
        return True
    versions = set(pl.read_parquet(stems, columns=["code_version"])["code_version"])
    return versions != {code_version}


def _error_of(settings: StemlineSettings, track_id: str) -> str:
    path = settings.layout.track(track_id)
    if path.is_file():
        row = pl.read_parquet(path).row(0, named=True)
        if row["error"]:
            return row["error"]
    return "failed (see the run's logs in `stemline ui`)"


HOST_TAG, PID_TAG = "stemline/host", "stemline/pid"


def recover_crashed_runs(instance: dg.DagsterInstance) -> list[str]:
    """Fail the runs a killed ``stemline run`` left "started" on this host and free their pool
    slots; without this, a crashed run would hold the ``separation`` slot forever."""
    host = socket.gethostname()
    stuck = instance.get_runs(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING],
            tags={HOST_TAG: host},
        )
    )
    recovered = []
    for run in stuck:
        pid = int(run.tags.get(PID_TAG, "0"))
        if pid and pid != os.getpid() and not process_alive(pid):
            instance.report_run_failed(run, f"its process {pid} died (killed or crashed)")
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
            recovered.append(run.run_id)
            log.warning("run %s: process %d died; marked failed, pool slots freed", run.run_id, pid)
    return recovered


def _quiet_run_config(log_level: str) -> dict:
    """Run config that sets the console log level of in-process runs (events still reach the
    instance, so the UI shows everything)."""
    return {"loggers": {"console": {"config": {"log_level": log_level}}}}


def run_folder(
    settings: StemlineSettings,
    progress=None,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "WARNING",
) -> RunSummary:
    """Scan ``settings.audio_roots`` and materialise every track that needs it, then the
    catalogue and the dataset report. ``progress(done, total, track_id)`` is called per track."""
    layout = settings.layout
    defs = build_definitions(settings)
    code_version = stems_code_version(settings.model)
    result = update_inventory(layout.inventory, [Path(r) for r in settings.audio_roots])
    tracks = result.present_tracks()["track_id"].to_list()
    summary = RunSummary()
    own_instance = instance is None
    if own_instance:
        home = ensure_dagster_home(settings)
        # Several `stemline run`s starting on a fresh instance would race to create its
        # SQLite schema (alembic fails with two heads); create it one process at a time.
        with exclusive_lock(home / ".stemline-instance.lock"):
            instance = dg.DagsterInstance.get()
    tags = {
        "stemline/source": "stemline run",
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
    }
    try:
        recover_crashed_runs(instance)
        existing = set(instance.get_dynamic_partitions(TRACKS))
        new = [t for t in tracks if t not in existing]
        if new:
            instance.add_dynamic_partitions(TRACKS, new)
        todo = [t for t in tracks if needs_processing(settings, t, code_version)]
        summary.skipped = [t for t in tracks if t not in todo]
        job = defs.resolve_job_def("process_tracks")
        # One pool of feature workers for all tracks (one per stem, at most one per core),
        # instead of one started per track.
        workers = min(len(load_config(settings.model).instruments), os.cpu_count() or 1)
        with shared_feature_pool(workers if todo else 0):
            for i, track_id in enumerate(todo):
                res = job.execute_in_process(
                    run_config=_quiet_run_config(log_level),
                    partition_key=track_id,
                    instance=instance,
                    raise_on_error=False,
                    tags=tags,
                )
                if res.success:
                    summary.processed.append(track_id)
                else:
                    summary.failed[track_id] = _error_of(settings, track_id)
                if progress is not None:
                    progress(i + 1, len(todo), track_id)
        defs.resolve_job_def("refresh_catalogue").execute_in_process(
            run_config=_quiet_run_config(log_level),
            instance=instance,
            raise_on_error=True,
            tags=tags,
        )
    finally:
        if own_instance:
            instance.dispose()
    return summary
