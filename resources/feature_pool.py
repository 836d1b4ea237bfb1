"""The feature worker processes as a Dagster resource, started when a run needs them.

Starting a feature worker costs 1-3 s (a process, and essentia's import), more than analysing a
30 s stem, so the pool lives as long as the resource. It is started by :meth:`FeaturePool.start`
(in the background: the workers import essentia while the run goes on), which the track step
calls as it begins when its run materialises ``stem_features`` -- so a run of checks, or of
``stems`` alone, starts no worker -- and :meth:`FeaturePool.extract` calls if nothing did.
:meth:`FeaturePool.teardown_after_execution` shuts it down. Dagster sets the resource up and
tears it down once per run and process; ``stemline run`` sets one up for the whole folder and
hands it to each track's run (:mod:`orchestration.pipeline`), so a folder starts its workers
once. The pool is never left to interpreter exit (a process-wide pool shut down by ``atexit``
hung Dagster's multiprocess step workers).
"""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TYPE_CHECKING

import dagster as dg
import numpy as np
from pydantic import PrivateAttr

if TYPE_CHECKING:
    from features.result import StemFeatures

# features.parallel is imported where it is used, so loading the definitions (webserver, daemon,
# code server) does not pay for it; it imports no feature code itself (essentia, onnxruntime,
# scipy): only the workers do, so a run's own process never pays for them either.


class FeaturePool(dg.ConfigurableResource):
    """Processes that compute the features of a track's stems, one stem per process."""

    #: Worker processes; at most one per core is started. One per stem of the model is right:
    #: a track's stems are analysed at once. 1 or less: features are computed in the step.
    workers: int = 2

    _pool: ProcessPoolExecutor | None = PrivateAttr(default=None)

    @property
    def processes(self) -> int:
        """The number of worker processes the pool runs (``workers`` capped by the cores)."""
        return max(1, min(self.workers, os.cpu_count() or 1))

    def start(self) -> None:
        """Start the workers if they are not running, without waiting for them (they import
        essentia while the caller goes on). Nothing to start with one worker: features are
        then computed in the calling process."""
        if self._pool is None and self.processes > 1:
            self._pool = self._start()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Shut the workers down; jobs not started yet are cancelled."""
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(cancel_futures=True)

    def extract(self, audio: dict[str, np.ndarray], sample_rate: int) -> dict[str, StemFeatures]:
        """Features of every stem of a track (:func:`features.extract_track_features`).

        A pool broken by a dying worker is replaced for the next call, and this call fails
        (:class:`~concurrent.futures.process.BrokenProcessPool`). The workers are started here
        if :meth:`start` was not called. With one worker, or one stem, the stems are analysed
        one after another in this process.
        """
        from features.parallel import extract_track_features

        if len(audio) > 1:
            self.start()
        if self._pool is None or len(audio) <= 1:
            return extract_track_features(audio, sample_rate, max_workers=1)
        try:
            return extract_track_features(audio, sample_rate, executor=self._pool)
        except BrokenProcessPool:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._start()
            raise

    def _start(self) -> ProcessPoolExecutor:
        """A pool whose workers are all being started (one job each, not waited for)."""
        from features.parallel import feature_process_pool

        pool = feature_process_pool(self.processes, warm=False)
        for _ in range(self.processes):
            pool.submit(os.getpid)  # each job spawns a worker; its initializer imports essentia
        return pool
