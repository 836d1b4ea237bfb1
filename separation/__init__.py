"""Spleeter-compatible music source separation in Keras 3 (no Dagster here).

>>> from separation import Separator
>>> stems = Separator("spleeter:2stems").separate(waveform, 44100)  # doctest: +SKIP

Importing the package changes nothing in the process and imports none of its modules: the
names below load their module on first use, so a light module (the ``stemline separate``
client of the warm engine, :mod:`separation.warm_engine`) imports no array or model code.
Programs call :func:`~separation.tensorflow_env.configure_tensorflow` before TensorFlow is first
imported to turn its oneDNN CPU kernels on and quiet its start-up (``stemline`` and the Dagster
definitions do).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .audio import AudioError
    from .checkpoint import CheckpointError
    from .configs import ConfigError, ModelConfig, load_config
    from .output import OutputError
    from .provider import IntegrityError, ModelProvider, ModelUnavailable
    from .separator import SeparationResult, Separator

#: Where each public name is defined.
_HOMES = {
    "AudioError": "audio",
    "CheckpointError": "checkpoint",
    "ConfigError": "configs",
    "IntegrityError": "provider",
    "ModelConfig": "configs",
    "ModelProvider": "provider",
    "ModelUnavailable": "provider",
    "OutputError": "output",
    "SeparationResult": "separator",
    "Separator": "separator",
    "load_config": "configs",
}

__all__ = [
    "AudioError",
    "CheckpointError",
    "ConfigError",
    "IntegrityError",
    "ModelConfig",
    "ModelProvider",
    "ModelUnavailable",
    "OutputError",
    "SeparationResult",
    "Separator",
    "load_config",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562)."""
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_HOMES[name]}", __name__), name)
