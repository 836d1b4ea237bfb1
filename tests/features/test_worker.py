"""Feature worker processes: thread limits (one thread per pool: one worker per core), and a
parent process that receives features without importing the feature code."""

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


def test_the_process_that_hands_stems_to_the_pool_imports_no_feature_code():
    # A pipeline run's own process: it sends stems to the workers and unpickles their results.
    code = (
        "import json, sys\n"
        "import numpy as np\n"
        "from features.parallel import extract_track_features, feature_process_pool\n"
        "t = np.arange(3 * 44100) / 44100\n"
        "stems = {'vocals': 0.5 * np.sin(2 * np.pi * 440 * t), 'drums': np.zeros(t.size)}\n"
        "with feature_process_pool(1) as pool:\n"
        "    feats = extract_track_features(stems, 44100, executor=pool)\n"
        "f0 = feats['vocals'].pitch.filter(feats['vocals'].pitch['voiced'] == 1)['f0_hz']\n"
        "heavy = ('essentia.standard', 'scipy', 'onnxruntime', 'features.stem', 'features.pitch')\n"
        "print(json.dumps({'f0': float(f0.median()), 'silent': feats['drums'].is_silent,\n"
        "                  'heavy': [m for m in heavy if m in sys.modules]}))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    result = json.loads(out.splitlines()[-1])
    assert result["heavy"] == []
    assert abs(result["f0"] - 440.0) < 4.0 and result["silent"] is True
