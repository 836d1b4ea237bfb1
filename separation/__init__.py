"""Spleeter-compatible music source separation in Keras 3 (no Dagster here).

>>> from separation import Separator
>>> stems = Separator("spleeter:2stems").separate(waveform, 44100)  # doctest: +SKIP

Importing the package changes nothing in the process. Programs call
:func:`~separation.tensorflow_env.configure_tensorflow` before TensorFlow is first imported to
turn its oneDNN CPU kernels on and quiet its start-up (``stemline`` and the Dagster definitions
do).
"""

from .audio import AudioError
from .checkpoint import CheckpointError
from .configs import ConfigError, ModelConfig, load_config
from .output import OutputError
from .provider import IntegrityError, ModelProvider, ModelUnavailable
from .separator import SeparationResult, Separator

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
