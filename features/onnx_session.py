"""ONNX Runtime sessions of the neural feature models, one per model file and process.

Creating an ``onnxruntime.InferenceSession`` parses and optimises the model graph (tens of
milliseconds for the small models stemline runs), so a feature worker creates each session
once, on its first stem, and reuses it for every later stem: :func:`onnx_session` is cached per
process. The cache is keyed by the model file's resolved path, size and modification time and
by the thread count, so a model file replaced on disk (a re-fetch) gets a new session.

Nothing happens at import time: ``onnxruntime`` itself is imported on the first call, so
processes that never run a neural model never load it, and a ``spawn`` worker pays for it only
when its first stem needs it.

Execution provider: ``CUDAExecutionProvider`` when the installed onnxruntime exposes it (the
``onnxruntime-gpu`` build on a machine with an NVIDIA GPU), else ``CPUExecutionProvider``. The
provider a session really got is logged at INFO once per session (``features.onnx_session``:
"... runs on CPUExecutionProvider (available: ...)"), so a GPU host that silently falls back to
the CPU shows it. :func:`preferred_providers` is the choice; ``STEMLINE_ONNX_PROVIDER=cpu``
forces the CPU (for comparisons, or a GPU shared with other work).

Threads: a CPU session runs on ``threads`` intra-op threads and one inter-op thread. The feature
pool already runs one process per core, so the default of one thread per session keeps a
machine's cores busy without oversubscribing them; a single process transcribing one long stem
may ask for more.
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

#: Sessions kept per process (a few models, each at one or two thread counts).
MAX_SESSIONS = 8
CUDA = "CUDAExecutionProvider"
CPU = "CPUExecutionProvider"
#: Environment variable that forces the CPU provider when set to ``cpu``.
PROVIDER_ENV = "STEMLINE_ONNX_PROVIDER"


def available_providers() -> list[str]:
    """The execution providers the installed onnxruntime exposes."""
    import onnxruntime as ort

    return list(ort.get_available_providers())


def preferred_providers(available: list[str] | None = None) -> list[str]:
    """Providers to ask for, best first: CUDA when exposed (and not forced off), then CPU."""
    available = available_providers() if available is None else available
    if CUDA in available and os.environ.get(PROVIDER_ENV, "").lower() != "cpu":
        return [CUDA, CPU]
    return [CPU]


def gpu_available() -> bool:
    """Whether new sessions will ask for the CUDA provider."""
    return preferred_providers()[0] == CUDA


def onnx_session(path: Path, threads: int = 1) -> Any:
    """The process's ``onnxruntime.InferenceSession`` for the model file ``path``.

    Parameters
    ----------
    path : pathlib.Path
        An ``.onnx`` file, already verified by its caller (e.g. against a pinned sha256).
    threads : int
        Intra-op threads of the session (``>= 1``).

    Returns
    -------
    onnxruntime.InferenceSession
        On :func:`preferred_providers`; the same object for every call with the same file and
        thread count in this process.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    resolved = Path(path).resolve()
    stat = resolved.stat()
    providers = tuple(preferred_providers())
    return _cached_session(str(resolved), stat.st_size, stat.st_mtime_ns, threads, providers)


@lru_cache(maxsize=MAX_SESSIONS)
def _cached_session(
    path: str, size: int, mtime_ns: int, threads: int, providers: tuple[str, ...]
) -> Any:
    """Create a session; ``size`` and ``mtime_ns`` only key the cache."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only: no graph-optimisation chatter per worker
    session = ort.InferenceSession(path, options, providers=list(providers))
    log.info(
        "ONNX model %s runs on %s (available: %s)",
        Path(path).name,
        session.get_providers()[0],
        ", ".join(available_providers()),
    )
    return session


def clear_onnx_sessions() -> None:
    """Drop every cached session of this process (their memory is freed with the last user)."""
    _cached_session.cache_clear()
