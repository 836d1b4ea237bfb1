"""FeaturePool: workers started on demand, shared by every call, shut down at teardown."""

from __future__ import annotations

import os

import dagster as dg
import numpy as np
import pytest

from resources.feature_pool import FeaturePool

RATE = 44100


def tone(freq: float, seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32)[:, None]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a pool needs two cores")
def test_one_pool_serves_every_call_and_is_shut_down_at_teardown():
    audio = {"vocals": tone(440.0), "accompaniment": tone(220.0)}
    with dg.build_resources({"feature_pool": FeaturePool(workers=2)}) as resources:
        live = resources.feature_pool
        assert live._pool is None  # set up: nothing started until a run extracts
        live.start()
        pool = live._pool
        assert pool is not None and live.processes == 2
        live.start()
        assert live._pool is pool  # started once
        first = live.extract(audio, RATE)
        second = live.extract(audio, RATE)
        assert live._pool is pool  # the same workers, not a pool per call
    assert live._pool is None
    with pytest.raises(RuntimeError):  # shut down: it takes no more work
        pool.submit(os.getpid)
    for feats in (first, second):
        assert list(feats) == ["vocals", "accompaniment"]
        f0 = feats["vocals"].tables(track_id="t", model="m")["summary"]["pitch_median_midi"][0]
        assert f0 == pytest.approx(69.0, abs=0.5)  # A4


def test_one_worker_computes_in_the_step_without_a_pool():
    with dg.build_resources({"feature_pool": FeaturePool(workers=1)}) as resources:
        assert resources.feature_pool._pool is None
        feats = resources.feature_pool.extract({"vocals": tone(440.0)}, RATE)
    assert list(feats) == ["vocals"]


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="a pool needs two cores")
def test_extract_starts_the_workers_when_nothing_did():
    audio = {"vocals": tone(440.0), "accompaniment": tone(220.0)}
    with dg.build_resources({"feature_pool": FeaturePool(workers=2)}) as resources:
        live = resources.feature_pool
        feats = live.extract(audio, RATE)
        assert live._pool is not None
    assert list(feats) == ["vocals", "accompaniment"]
