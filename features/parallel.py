"""Features of all stems of a track, one process per stem.

essentia holds the GIL while it computes, so threads do not overlap; stems are sent to
a ``ProcessPoolExecutor`` (``spawn`` start method, safe next to TensorFlow or Dagster in
the parent) and analysed concurrently.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor

import numpy as np

from features.settings import FeatureSettings
from features.stem import StemFeatures, extract_stem_features


def extract_track_features(
    stems: Mapping[str, np.ndarray],
    sample_rate: int,
    settings: FeatureSettings | None = None,
    max_workers: int | None = None,
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
        Processes to use; default ``min(len(stems), os.cpu_count())``. ``1`` runs in
        this process (no pool), which is also what happens for a single stem.

    Returns
    -------
    dict[str, StemFeatures]
        In the order of ``stems``.
    """
    settings = settings or FeatureSettings()
    workers = max_workers or min(len(stems), os.cpu_count() or 1)
    if workers <= 1 or len(stems) <= 1:
        return {
            name: extract_stem_features(audio, sample_rate, name, settings)
            for name, audio in stems.items()
        }
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = {
            name: pool.submit(extract_stem_features, audio, sample_rate, name, settings)
            for name, audio in stems.items()
        }
        return {name: future.result() for name, future in futures.items()}
