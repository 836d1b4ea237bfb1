"""Spleeter-compatible music source separation in Keras 3 (no Dagster here).

>>> from separation import Separator
>>> stems = Separator("spleeter:2stems").separate(waveform, 44100)  # doctest: +SKIP
"""

import os

# TensorFlow only turns its oneDNN CPU kernels on by itself on CPUs with AVX-512 VNNI/BF16 or
# AMX; elsewhere (measured on a 2-core AMD machine) they make the U-Net ~1.15x faster end to
# end (39x vs 34x real time, 180 s track) with the same stems to 4e-6. Read once, when
# TensorFlow is first imported; set TF_ENABLE_ONEDNN_OPTS=0 to keep TensorFlow's default.
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "1")

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
