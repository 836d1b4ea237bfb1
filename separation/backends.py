"""Which Keras backend runs the separation, and how its functions are compiled.

The whole signal path (:mod:`separation.signal`, :mod:`separation.engine`) and the U-Net are
written with ``keras.ops`` and Keras layers, so TensorFlow, JAX and PyTorch all run it. Keras
fixes its backend when it is first imported, from ``KERAS_BACKEND`` (or ``~/.keras/keras.json``;
TensorFlow when neither says), so a backend is chosen *before* anything imports keras:

- set ``KERAS_BACKEND=jax`` (``tensorflow``, ``torch``) in the environment of the program, or
- call :func:`select_backend` at the program's entry point, or pass ``backend=`` to
  :class:`~separation.Separator`, which calls it: it sets ``KERAS_BACKEND`` when keras is not
  imported yet, and raises :class:`BackendError` when keras already runs on another backend
  (a silent switch is impossible, a silent mismatch would be wrong).

Only the TensorFlow backend imports TensorFlow: with ``jax`` or ``torch`` the separation never
imports it (reading Spleeter's original checkpoint needs it; a converted weights file,
:mod:`separation.weights_file`, does not).

Compiled functions (:func:`compile_function`, :func:`compile_model_function`) take and return
backend tensors: ``tf.function`` (XLA-compiled where ``xla``) on TensorFlow, ``jax.jit`` on JAX
(the model's weights are passed as arguments through ``stateless_call``, not baked into the
compiled program as constants), plain eager calls without autograd on PyTorch.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import keras

BACKENDS = ("tensorflow", "jax", "torch")
#: Persistent XLA compilation cache of the JAX backend (``JAX_COMPILATION_CACHE_DIR``).
JAX_CACHE_SUBDIR = ("stemline", "jax")


class BackendError(RuntimeError):
    """The requested Keras backend is unknown or cannot be had in this process."""


def active_backend() -> str:
    """The backend of the imported keras (imports keras)."""
    import keras

    return keras.backend.backend()


def select_backend(name: str) -> None:
    """Make ``name`` the Keras backend of this process, before keras is imported.

    Parameters
    ----------
    name : str
        ``tensorflow``, ``jax`` or ``torch``.

    Raises
    ------
    BackendError
        ``name`` is not a backend, or keras is already imported with another backend.
    """
    if name not in BACKENDS:
        raise BackendError(f"backend must be one of {', '.join(BACKENDS)}, got {name!r}")
    if "keras" not in sys.modules:
        os.environ["KERAS_BACKEND"] = name
        return
    active = active_backend()
    if active != name:
        raise BackendError(
            f"backend {name!r} requested but keras already runs on {active!r} in this "
            f"process (set KERAS_BACKEND={name} before keras is first imported)"
        )


def configure_jax_cache() -> None:
    """Give JAX a persistent compilation cache unless one is configured (entry points only).

    Compiling the separation functions takes tens of seconds on JAX; the cache in
    ``$XDG_CACHE_HOME/stemline/jax`` makes later processes start in seconds. Sets
    ``JAX_COMPILATION_CACHE_DIR`` and ``JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS`` unless
    set, so they reach child processes too; JAX reads them when it is first imported.
    """
    from pathlib import Path

    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", str(Path(cache, *JAX_CACHE_SUBDIR)))
    # Building the U-Net compiles one small random initialiser per weight shape (16 s of a
    # 20 s start on 2 CPUs): cached too, however short, it takes 3 s.
    os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")


def device_scope(name: str) -> contextlib.AbstractContextManager:
    """Place what runs inside on device ``name`` (``cpu:0``, ``gpu:0``), on any backend.

    PyTorch's CPU has no index: Keras would move every new variable from ``cpu`` to ``cpu:0``,
    a copy that drops its parameter type, so the CPU is named ``cpu`` there.
    """
    import keras

    if name.startswith("cpu") and keras.backend.backend() == "torch":
        name = "cpu"
    return keras.device(name)


def to_numpy(x: Any):
    """A backend tensor as a NumPy array (on the host)."""
    import keras

    return keras.ops.convert_to_numpy(x)


def block_until_ready(result: Any) -> None:
    """Wait until the device has computed ``result`` (tensors, or tuples and lists of them).

    GPU backends return from a call before the device is done; timing a stage needs the wait.
    NumPy arrays are always ready. JAX waits for the arrays themselves; PyTorch and TensorFlow
    wait for every kernel queued on their devices.
    """
    backend = active_backend()
    if backend == "jax":
        import jax

        jax.block_until_ready(result)
    elif backend == "torch":
        import torch

        if torch.cuda.is_available() and torch.cuda.is_initialized():
            torch.cuda.synchronize()
    else:
        import tensorflow as tf

        tf.test.experimental.sync_devices()


def compile_function(fn: Callable, *, xla: bool = True) -> Callable:
    """``fn`` (``keras.ops`` code on fixed shapes) compiled for the active backend.

    ``xla`` applies to TensorFlow, where it selects ``jit_compile``; JAX always compiles with
    XLA and PyTorch runs ``fn`` eagerly.
    """
    backend = active_backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(fn, jit_compile=xla)
    if backend == "jax":
        import jax

        return jax.jit(fn)
    return _torch_eager(fn)


def compile_model_function(
    model: keras.Model, fn: Callable[..., Any], *, xla: bool = False
) -> Callable:
    """Compile ``fn(call_model, *args)``, where ``call_model(x)`` is the model at inference.

    On JAX the model's variables are arguments of the compiled function (``stateless_call``),
    so the compiled program does not embed 19 million weights as constants. ``xla`` applies to
    TensorFlow (its own kernels run the U-Net faster than XLA on CPU).
    """
    if active_backend() != "jax":

        def call_model(x):
            return model(x, training=False)

        return compile_function(lambda *args: fn(call_model, *args), xla=xla)
    import jax

    def pure(trainable, non_trainable, *args):
        def call_model(x):
            return model.stateless_call(trainable, non_trainable, x, training=False)[0]

        return fn(call_model, *args)

    jitted = jax.jit(pure)

    def run(*args):
        trainable = [v.value for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        return jitted(trainable, non_trainable, *args)

    return run


def _torch_eager(fn: Callable) -> Callable:
    import torch

    def run(*args):
        with torch.no_grad():
            return fn(*args)

    return run
