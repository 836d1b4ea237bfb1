"""Set-up of a process that computes features: essentia's log, thread limits, worker start-up.

essentia prints an INFO line (``MusicExtractorSVM: no classifier models were configured``)
when ``essentia.standard`` is first imported. The library leaves the choice to programs: their
entry points call :func:`quiet_essentia_log` before anything imports a feature module (the
``stemline`` command, the Dagster definitions, the tests), and :func:`init_worker` does it in
every worker process of :func:`features.parallel.feature_process_pool`.

Threads: the feature pool runs one process per core, so every thread pool inside a worker is
held to one thread (:func:`limit_threads`); otherwise each worker's BLAS would start a thread
per core for its larger matrix products and N workers would run N x cores threads on N cores.
The limit is set through the environment variables the thread pools read when their library
loads (set before the worker imports numpy) and, for an OpenBLAS the process has already
loaded (a parent's main module imported numpy in the worker first), through OpenBLAS's own
``set_num_threads``. :func:`thread_limits` reports what a process runs with.

This module imports neither numpy, essentia's algorithms nor the other feature modules, so a
worker process unpickling :func:`init_worker` loads nothing before its log is quiet and its
threads are limited.
"""

from __future__ import annotations

import ctypes
import os
import threading
import time
from collections.abc import Callable

#: Seconds between a worker's checks that the process that started it is alive.
PARENT_POLL_S = 1.0
#: Environment variables read by the thread pools a feature worker may load (OpenMP, OpenBLAS,
#: MKL, BLIS, Accelerate, numexpr).
THREAD_ENV_VARS = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)
#: ``(get, set)`` symbol names of the OpenBLAS builds numpy and scipy wheels bundle.
OPENBLAS_SYMBOLS = (
    ("openblas_get_num_threads", "openblas_set_num_threads"),
    ("openblas_get_num_threads64_", "openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads64_", "scipy_openblas_set_num_threads64_"),
    ("scipy_openblas_get_num_threads", "scipy_openblas_set_num_threads"),
)


def quiet_essentia_log() -> None:
    """Turn essentia's INFO messages off in this process (warnings and errors still print).

    Call it before ``essentia.standard`` is first imported; it imports only essentia's core.
    """
    import essentia

    essentia.log.infoActive = False


def _loaded_openblas() -> dict[str, tuple[Callable[[], int], Callable[[ctypes.c_int], None]]]:
    """The OpenBLAS libraries loaded in this process (Linux: from ``/proc/self/maps``), by path,
    with their ``get_num_threads`` and ``set_num_threads`` functions."""
    try:
        with open("/proc/self/maps", encoding="utf-8") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return {}
    found = {}
    for path in sorted(p for p in paths if os.path.isfile(p)):
        library = ctypes.CDLL(path, mode=os.RTLD_NOLOAD | os.RTLD_LAZY)
        for get_name, set_name in OPENBLAS_SYMBOLS:
            if hasattr(library, get_name) and hasattr(library, set_name):
                found[path] = (getattr(library, get_name), getattr(library, set_name))
                break
    return found


def limit_threads(threads: int = 1) -> None:
    """Hold this process's thread pools to ``threads`` threads (see the module doc).

    Sets :data:`THREAD_ENV_VARS` (read by libraries loaded later) and the thread count of every
    OpenBLAS already loaded.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    for name in THREAD_ENV_VARS:
        os.environ[name] = str(threads)
    for _, set_threads in _loaded_openblas().values():
        set_threads(ctypes.c_int(threads))


def thread_limits() -> dict[str, str | int | None]:
    """This process's thread limits: each of :data:`THREAD_ENV_VARS` (``None`` when unset) and,
    per loaded OpenBLAS (keyed ``openblas:<file name>``), the threads it runs on."""
    limits: dict[str, str | int | None] = {name: os.environ.get(name) for name in THREAD_ENV_VARS}
    for path, (get_threads, _) in _loaded_openblas().items():
        limits[f"openblas:{os.path.basename(path)}"] = int(get_threads())
    return limits


def _exit_with_parent(parent_pid: int) -> None:
    """End this process once ``parent_pid`` is gone (its parent changed)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(PARENT_POLL_S)
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def init_worker(parent_pid: int) -> None:
    """Initializer of a feature worker process.

    Holds its thread pools to one thread (the pool runs one worker per core), quiets essentia's
    log, makes the worker exit when ``parent_pid`` (the process that started it) dies, so a
    killed pipeline leaves no orphaned workers, imports the feature modules (essentia's
    algorithms, about 1 s) and loads the neural f0 models whose weights are cached (their
    sessions then live as long as the worker) before the worker takes its first job.
    """
    limit_threads(1)
    quiet_essentia_log()
    _exit_with_parent(parent_pid)
    import features.stem  # noqa: F401 - the import is the warm-up
    from features.pitch_models import warm_up

    warm_up(("swiftf0",))
