"""Features of all stems of a track, one process per stem.

essentia holds the GIL while it computes, so threads do not overlap; stems are sent to
a process pool (``spawn`` start method, safe next to TensorFlow or Dagster in the
parent) and analysed concurrently. Starting a worker costs about 1-1.5 s (importing
essentia), more than analysing a 30 s stem (about 0.7 s), so callers that process many
tracks should create the pool once with :func:`feature_process_pool` and pass it in.
Workers exit on their own when the process that started them dies (killed, say), so a killed
pipeline leaves no orphaned workers holding its memory and its output pipes.

Only the workers import the feature code (essentia, the feature models, scipy): the process
that hands them stems imports this module and :mod:`features.result`, whose
:class:`~features.result.StemFeatures` is what comes back.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Mapping
from concurrent.futures import Executor, ProcessPoolExecutor

import numpy as np

from features.result import StemFeatures
from features.settings import FeatureSettings
from features.worker import init_worker


def _import_features(_: int = 0) -> int:
    """A warm-up job: waiting for it waits until a worker has started (and, in
    :func:`features.worker.init_worker`, imported essentia).

    Sleeps briefly so that each warm-up job lands on a different worker.
    """
    time.sleep(0.2)
    return os.getpid()


def feature_process_pool(max_workers: int | None = None, warm: bool = True) -> ProcessPoolExecutor:
    """A ``spawn`` process pool for feature extraction, optionally with workers started.

    Parameters
    ----------
    max_workers : int, optional
        Number of processes; default ``os.cpu_count()``.
    warm : bool
        Start every worker now (imports essentia once per worker).
    """
    workers = max_workers or os.cpu_count() or 1
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=init_worker,
        initargs=(os.getpid(),),
    )
    if warm:
        list(pool.map(_import_features, range(workers)))
    return pool


def _extract_stem(
    audio: np.ndarray, sample_rate: int, stem: str, settings: FeatureSettings
) -> StemFeatures:
    """:func:`features.stem.extract_stem_features`, imported where it runs (a worker)."""
    from features.stem import extract_stem_features

    return extract_stem_features(audio, sample_rate, stem, settings)


def extract_track_features(
    stems: Mapping[str, np.ndarray],
    sample_rate: int,
    settings: FeatureSettings | None = None,
    max_workers: int | None = None,
    executor: Executor | None = None,
) -> dict[str, StemFeatures]:
    """Run :func:`features.extract_stem_features` on every stem of a track in parallel.

    Parameters
    ----------
    stems : Mapping[str, numpy.ndarray]
        Stem name -> ``(n_samples,)`` or ``(n_samples, channels)`` audio.
    sample_rate : int
        Rate of every stem, Hz.
    settings : FeatureSettings, optional
    max_workers : int, optional
        Processes of a pool created for this call; default
        ``min(len(stems), os.cpu_count())``. ``1`` runs in this process (no pool).
        Ignored when ``executor`` is given.
    executor : concurrent.futures.Executor, optional
        A pool to reuse across tracks (see :func:`feature_process_pool`).

    Returns
    -------
    dict[str, StemFeatures]
        In the order of ``stems``.
    """
    settings = settings or FeatureSettings()
    if executor is not None:
        futures = {
            name: executor.submit(_extract_stem, audio, sample_rate, name, settings)
            for name, audio in stems.items()
        }
        return {name: future.result() for name, future in futures.items()}
    workers = max_workers or min(len(stems), os.cpu_count() or 1)
    if workers <= 1 or len(stems) <= 1:
        return {
            name: _extract_stem(audio, sample_rate, name, settings) for name, audio in stems.items()
        }
    with feature_process_pool(workers, warm=False) as pool:
        return extract_track_features(stems, sample_rate, settings, executor=pool)
