"""Set-up of a process that computes features: essentia's log, and feature worker start-up.

essentia prints an INFO line (``MusicExtractorSVM: no classifier models were configured``)
when ``essentia.standard`` is first imported. The library leaves the choice to programs: their
entry points call :func:`quiet_essentia_log` before anything imports a feature module (the
``stemline`` command, the Dagster definitions, the tests), and :func:`init_worker` does it in
every worker process of :func:`features.parallel.feature_process_pool`.

This module imports neither essentia's algorithms nor the other feature modules, so a worker
process unpickling :func:`init_worker` loads nothing before its log is quiet.
"""

from __future__ import annotations

import os
import threading
import time

#: Seconds between a worker's checks that the process that started it is alive.
PARENT_POLL_S = 1.0


def quiet_essentia_log() -> None:
    """Turn essentia's INFO messages off in this process (warnings and errors still print).

    Call it before ``essentia.standard`` is first imported; it imports only essentia's core.
    """
    import essentia

    essentia.log.infoActive = False


def _exit_with_parent(parent_pid: int) -> None:
    """End this process once ``parent_pid`` is gone (its parent changed)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def init_worker(parent_pid: int) -> None:
    """Initializer of a feature worker process.

    Quiets essentia's log, makes the worker exit when ``parent_pid`` (the process that started
    it) dies, so a killed pipeline leaves no orphaned workers, imports the feature modules
    (essentia's algorithms, about 1 s) and loads the neural f0 models whose weights are cached
    (their sessions then live as long as the worker) before the worker takes its first job.
    """
    quiet_essentia_log()
    _exit_with_parent(parent_pid)
    import features.stem  # noqa: F401 - the import is the warm-up
    from features.pitch_models import warm_up

    warm_up(("swiftf0",))
