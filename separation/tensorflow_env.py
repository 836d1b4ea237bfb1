"""TensorFlow's process-wide settings, applied by the programs that run the separation model.

TensorFlow reads its environment once, when it is first imported, so these settings belong to
a program's entry point (``stemline``'s ``main``, the Dagster definitions that step processes
load, test and benchmark set-up), never to importing this library. :func:`configure_tensorflow`
sets them for this process and, through the environment, for its child processes:

- ``TF_ENABLE_ONEDNN_OPTS=1`` unless set: TensorFlow only turns its oneDNN CPU kernels on by
  itself on CPUs with AVX-512 VNNI/BF16 or AMX; elsewhere (measured on a 2-core AMD machine)
  they make the U-Net ~1.15x faster end to end (39x vs 34x real time, 180 s track) with the
  same stems to 4e-6. Set ``TF_ENABLE_ONEDNN_OPTS=0`` to keep TensorFlow's default.
- ``TF_CPP_MIN_LOG_LEVEL=2`` unless set (``0`` when verbose): TensorFlow's own info and
  warning lines are not printed.
- Unless ``TF_CPP_MIN_LOG_LEVEL`` is ``0``, the first ``import tensorflow`` runs with file
  descriptor 2 captured, and what it printed is passed on without its start-up chatter:
  absl's ``All log messages before absl::InitializeLog() ...`` and the info/warning lines
  (``oneDNN custom operations are on ...``, CPU-feature, CUDA-plugin and TensorRT notes) that
  TensorFlow 2.16+ prints from its shared libraries' static initialisers, before it has read
  ``TF_CPP_MIN_LOG_LEVEL``. Error lines (``E``, ``F``) other than CUDA's duplicate-factory notes,
  Python warnings and anything else are passed on unchanged.

The import is caught by a finder on ``sys.meta_path`` that wraps only ``tensorflow``'s own
loader and removes itself once used, so nothing is imported early: a command that never
needs TensorFlow never pays for it.

Being the entry points' one call for the separation's process settings, it also gives the JAX
backend its persistent compilation cache (:func:`separation.backends.configure_jax_cache`,
environment variables only; JAX is not imported).
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.util
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from importlib.machinery import ModuleSpec
from types import ModuleType

from .backends import configure_jax_cache

#: Lines of TensorFlow's start-up that say nothing a user must act on.
CHATTER = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    # absl (TensorFlow 2.16+): "I0000 00:00:1796227036.219816    4774 port.cc:153] ..."
    r"|[IW]\d{4} \d\d:\d\d:\d+\.\d+\s+\d+ \S+:\d+\] "
    # TensorFlow's older format: "2024-08-10 09:16:11.569780: I tensorflow/core/util/port.cc:..."
    r"|\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IW] "
    # cpu_feature_guard's second line
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate"
    # CUDA plugins registered twice by TensorFlow's own libraries (logged as errors)
    r"|.*(Unable to register cu\w+ factory|computation placer already registered)"
)


def configure_tensorflow(verbose: bool = False) -> None:
    """Set TensorFlow's environment and quiet its start-up, before it is first imported.

    Parameters
    ----------
    verbose : bool
        Keep TensorFlow's own logging (``TF_CPP_MIN_LOG_LEVEL=0`` unless set otherwise).

    Notes
    -----
    Idempotent; settings already in the environment win, so a parent process's choice
    (``stemline -v ui``) reaches the processes it starts. Once TensorFlow is imported, only
    the environment of child processes changes.
    """
    configure_jax_cache()
    os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "0" if verbose else "2")
    if os.environ["TF_CPP_MIN_LOG_LEVEL"].strip() in ("", "0") or "tensorflow" in sys.modules:
        return
    if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
        sys.meta_path.insert(0, _QuietTensorFlowImport())


def drop_chatter(text: str) -> str:
    """``text`` without the lines that :data:`CHATTER` matches."""
    lines = text.splitlines(keepends=True)
    return "".join(line for line in lines if not CHATTER.match(line))


@contextlib.contextmanager
def stderr_without_chatter() -> Iterator[None]:
    """Capture file descriptor 2 (C++ and Python writes alike) and pass it on unchattered.

    What is written meanwhile reaches stderr when the block ends, also when it raises.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all: nothing to quiet
        yield
        return
    with tempfile.TemporaryFile() as captured:
        sys.stderr.flush()
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = drop_chatter(captured.read().decode(errors="replace"))
            if kept:
                sys.stderr.write(kept)
                sys.stderr.flush()


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Finds ``tensorflow`` as usual and wraps its loader in :func:`stderr_without_chatter`."""

    def find_spec(
        self, fullname: str, path: object = None, target: ModuleType | None = None
    ) -> ModuleSpec | None:
        if fullname != "tensorflow":
            return None
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self)  # once: the regular finders take it from here
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _QuietLoader(spec.loader)
        return spec


class _QuietLoader(importlib.abc.Loader):
    """``loader`` whose module runs with stderr captured, then is left as if loaded by it."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self.loader = loader

    def create_module(self, spec: ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        with stderr_without_chatter():
            self.loader.exec_module(module)
