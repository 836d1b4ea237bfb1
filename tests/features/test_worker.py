"""Thread limits of feature worker processes (one thread per pool: one worker per core)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from features.parallel import feature_process_pool
from features.worker import THREAD_ENV_VARS, thread_limits


def _openblas(limits: dict) -> dict:
    return {k: v for k, v in limits.items() if k.startswith("openblas:")}


def test_pool_workers_run_every_thread_pool_on_one_thread():
    with feature_process_pool(1) as pool:
        limits = pool.submit(thread_limits).result()
    assert {limits[name] for name in THREAD_ENV_VARS} == {"1"}
    # The worker has imported numpy and scipy (the feature modules): their OpenBLAS runs on 1.
    assert _openblas(limits)
    assert set(_openblas(limits).values()) == {1}


def test_limit_threads_reaches_an_openblas_loaded_before_it():
    # numpy (and its OpenBLAS, sized from the environment) is imported first, as when a
    # program's main module imports it in a spawned worker before the pool's initializer runs.
    env = {k: v for k, v in os.environ.items() if k not in THREAD_ENV_VARS}
    code = (
        "import json, numpy, scipy.linalg\n"
        "from features.worker import limit_threads, thread_limits\n"
        "limit_threads(1)\n"
        "print(json.dumps(thread_limits()))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout
    limits = json.loads(out)
    assert len(_openblas(limits)) >= 1
    assert set(_openblas(limits).values()) == {1}
    assert {limits[name] for name in THREAD_ENV_VARS} == {"1"}
