"""The Dagster instance ``stemline`` runs against: where it lives, and runs a crash left behind.

``DAGSTER_HOME`` (default ``<storage_root>/.dagster``) is shared by ``stemline run`` and
``stemline ui``, so runs of either show up in the other. Its ``dagster.yaml`` caps the heavy
steps with pools and has the daemon launch queued runs within a second. A killed ``stemline
run`` leaves its runs "started" with their pool slots held; the next ``stemline run`` on the
same host fails them and frees the slots.
"""

import logging
import os
import socket
from pathlib import Path

import dagster as dg

from atomicfile import atomic_write_bytes, process_alive
from resources.settings import StemlineSettings

log = logging.getLogger(__name__)

DAGSTER_YAML = """\
# Written by stemline. Pools cap concurrent heavy steps across runs: `separation` (the model;
# raise it to the number of GPUs with `dagster instance concurrency set separation N`) and
# `catalogue` (one writer). The daemon looks for queued runs every second (Dagster's default
# is 5 s), so a run the folder sensor requests starts at once.
concurrency:
  pools:
    default_limit: 1
run_queue:
  dequeue_interval_seconds: 1
telemetry:
  enabled: false
"""
#: What earlier versions of stemline wrote; such a file, left as it was, is replaced by
#: :data:`DAGSTER_YAML` (a file the user changed is kept as it is).
EARLIER_DAGSTER_YAMLS = (
    """\
# Written by stemline. Pools cap concurrent heavy steps across runs: `separation` (the model;
# raise it to the number of GPUs with `dagster instance concurrency set separation N`) and
# `catalogue` (one writer).
concurrency:
  pools:
    default_limit: 1
telemetry:
  enabled: false
""",
)


def ensure_dagster_home(settings: StemlineSettings) -> Path:
    """Point ``DAGSTER_HOME`` at a persistent instance folder with stemline's pool limits and
    run queue interval (an unchanged ``dagster.yaml`` of an earlier stemline is updated)."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.layout.root / ".dagster").absolute()
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists() or config.read_text() in EARLIER_DAGSTER_YAMLS:
        atomic_write_bytes(config, DAGSTER_YAML.encode())
    os.environ["DAGSTER_HOME"] = str(home)
    return home


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
