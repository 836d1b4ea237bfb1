"""Bringing a warm engine up: pid file, model loaded and compiled, then the server.

:func:`serve` is what the engine's process does (:mod:`separation.warm_engine.__main__`): it
writes its pid file first (so ``stemline engine status`` can say it is starting), builds the
:class:`~separation.Separator` with the options given to ``stemline engine start``, loads the
weights and runs the model once on faint noise of every chunk shape a job can use (one segment,
and a whole chunk), so that the first job pays neither the load nor the first-call compilation.
The warm-up computes and writes nothing that later jobs read: their stems are the same as
without it (``tests/separation/test_warm_engine.py`` asserts it bit for bit).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time

from .lifecycle import EnginePaths, engine_alive, listening, read_pid
from .protocol import EngineOptions, config_identity, stems_code_digest

log = logging.getLogger("separation.warm_engine")


def serve(
    paths: EnginePaths,
    *,
    params: str = "spleeter:2stems",
    mwf: bool = False,
    overlap: bool = False,
    chunk_segments: int | None = None,
    multichannel: str = "first-two",
    device: str = "auto",
    batch_tracks: int = 1,
    precision: str = "exact",
    idle_timeout_s: float = 1800.0,
) -> int:
    """Load the model and serve until stopped or idle; the process's exit status.

    The keyword arguments are :class:`~separation.Separator`'s (``params`` is its model) and
    the idle timeout in seconds.
    """
    import keras
    import numpy as np

    from ..provider import default_model_path
    from ..separator import Separator
    from .server import EngineServer

    if listening(paths) or engine_alive(read_pid(paths)):
        log.error("another engine runs on %s (pid %s)", paths.socket, read_pid(paths))
        return 1
    paths.pid_file.write_text(f"{os.getpid()}\n")
    try:
        started = time.perf_counter()
        separator = Separator(
            params, mwf=mwf, overlap=overlap, chunk_segments=chunk_segments,
            multichannel=multichannel, device=device, batch_tracks=batch_tracks,
            precision=precision,
        ).load()  # fmt: skip
        loaded = time.perf_counter()
        segment = round(separator.config.segment_seconds * separator.config.sample_rate)
        noise = np.random.default_rng(0).standard_normal((separator.chunk_segments * segment, 2))
        for segments in sorted({1, separator.chunk_segments}):
            separator.separate(1e-3 * noise[: segments * segment].astype(np.float32))
        log.info(
            "%s loaded in %.1f s, first calls compiled in %.1f s (%s backend, %s)", params,
            loaded - started, time.perf_counter() - loaded, keras.backend.backend(),
            separator.device.kind,
        )  # fmt: skip
        options = EngineOptions(
            model=params, config_id=config_identity(separator.config), mwf=mwf,
            overlap=overlap, precision=separator.precision, device=device,
            multichannel=multichannel, backend=keras.backend.backend(),
            model_path=str(default_model_path().absolute()),
        )  # fmt: skip
        server = EngineServer(paths, separator, options, idle_timeout_s, stems_code_digest())
        server.serve_forever()
    except Exception:
        log.exception("the warm engine failed")
        with contextlib.suppress(OSError):
            if paths.pid_file.read_text().split()[0] == str(os.getpid()):
                paths.pid_file.unlink()
        return 1
    return 0
