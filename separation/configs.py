"""Spleeter model configurations as data.

A configuration says which instruments a model separates, how the mix is turned into a
spectrogram (sample rate, STFT frame and hop, the number of frequency bins ``F`` the U-Net sees,
segment length ``T``), how masks are built and which checkpoint directory holds the weights.
The embedded configurations (``spleeter:2stems``, ``4stems``, ``5stems`` and their ``-16kHz``
variants) carry Spleeter's own values; any JSON file in Spleeter's format works as well.

The ``-16kHz`` variants are not separate models: they reuse the checkpoint of their base model
with ``F = 1536`` instead of 1024, so the U-Net models content up to 16.5 kHz instead of 11 kHz.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

EMBEDDED_PREFIX = "spleeter:"
EMBEDDED_NAMES = ("2stems", "2stems-16kHz", "4stems", "4stems-16kHz", "5stems", "5stems-16kHz")
MODEL_TYPES = ("unet.unet", "unet.softmax_unet")
MASK_EXTENSIONS = ("zeros", "average")
DEFAULT_CONV_FILTERS = (16, 32, 64, 128, 256, 512)


class ConfigError(ValueError):
    """A model configuration is missing, unreadable or inconsistent."""


@dataclass(frozen=True)
class ModelConfig:
    """The inference-relevant part of a Spleeter configuration.

    Attributes
    ----------
    name : str
        The descriptor the configuration was loaded from (``spleeter:2stems`` or a path).
    instruments : tuple of str
        Stem names in checkpoint order; the order numbers the checkpoint variables.
    model_dir : str
        Checkpoint directory name (relative to the model path) or an absolute path.
    sample_rate : int
        Rate in Hz the model works at.
    frame_length, frame_step : int
        STFT window and hop in samples.
    T : int
        Frames per segment fed to the U-Net (a multiple of 64).
    F : int
        Frequency bins fed to the U-Net (a multiple of 64); higher bins are masked by
        ``mask_extension``.
    n_channels : int
        Audio channels the model expects (2).
    separation_exponent : float
        Exponent of the ratio masks.
    mask_extension : str
        ``"zeros"`` (silence above ``F``) or ``"average"`` (the mean mask of the modelled bins).
    model_type : str
        ``"unet.unet"`` (independent sigmoid masks) or ``"unet.softmax_unet"`` (softmax across
        instruments).
    conv_activation, deconv_activation : str or None
        Activation names from the configuration's ``model.params``.
    conv_filters : tuple of int
        Encoder filter counts (Spleeter's ``conv_n_filters``).
    """

    name: str
    instruments: tuple[str, ...]
    model_dir: str
    sample_rate: int = 44100
    frame_length: int = 4096
    frame_step: int = 1024
    T: int = 512
    F: int = 1024
    n_channels: int = 2
    separation_exponent: float = 2.0
    mask_extension: str = "zeros"
    model_type: str = "unet.unet"
    conv_activation: str | None = None
    deconv_activation: str | None = None
    conv_filters: tuple[int, ...] = DEFAULT_CONV_FILTERS
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def n_bins(self) -> int:
        """Number of bins of the full one-sided STFT (``frame_length // 2 + 1``)."""
        return self.frame_length // 2 + 1

    @property
    def cutoff_hz(self) -> float:
        """Highest frequency the U-Net models, in Hz."""
        return self.F * self.sample_rate / self.frame_length

    @property
    def segment_seconds(self) -> float:
        """Duration of one U-Net segment in seconds."""
        return self.T * self.frame_step / self.sample_rate

    @property
    def checkpoint_name(self) -> str:
        """Name of the checkpoint this configuration loads (the last part of ``model_dir``)."""
        return Path(self.model_dir).name


def _require(raw: dict[str, Any], key: str, source: str) -> Any:
    if key not in raw:
        raise ConfigError(f"{source}: missing required key {key!r}")
    return raw[key]


def config_from_dict(raw: dict[str, Any], name: str = "<dict>") -> ModelConfig:
    """Validate a Spleeter-format configuration dictionary and return a :class:`ModelConfig`.

    Raises :class:`ConfigError` naming the source and the offending key, so a broken user
    configuration fails before any model is built.
    """
    instruments = _require(raw, "instrument_list", name)
    if (
        not isinstance(instruments, list)
        or not instruments
        or not all(isinstance(i, str) and i for i in instruments)
    ):
        raise ConfigError(f"{name}: instrument_list must be a non-empty list of names")
    if len(set(instruments)) != len(instruments):
        raise ConfigError(f"{name}: instrument_list has duplicate names: {instruments}")
    model = raw.get("model", {"type": "unet.unet", "params": {}})
    model_type = model.get("type", "unet.unet")
    if model_type not in MODEL_TYPES:
        raise ConfigError(
            f"{name}: model.type {model_type!r} is not supported (supported: {MODEL_TYPES})"
        )
    params = model.get("params", {}) or {}
    cfg = ModelConfig(
        name=name,
        instruments=tuple(instruments),
        model_dir=str(_require(raw, "model_dir", name)),
        sample_rate=int(raw.get("sample_rate", 44100)),
        frame_length=int(raw.get("frame_length", 4096)),
        frame_step=int(raw.get("frame_step", 1024)),
        T=int(raw.get("T", 512)),
        F=int(raw.get("F", 1024)),
        n_channels=int(raw.get("n_channels", 2)),
        separation_exponent=float(raw.get("separation_exponent", 2)),
        mask_extension=str(raw.get("mask_extension", "zeros")),
        model_type=model_type,
        conv_activation=params.get("conv_activation"),
        deconv_activation=params.get("deconv_activation"),
        conv_filters=tuple(int(f) for f in params.get("conv_n_filters", DEFAULT_CONV_FILTERS)),
        raw=raw,
    )
    _check(cfg)
    return cfg


def _check(cfg: ModelConfig) -> None:
    src = cfg.name
    if cfg.T <= 0 or cfg.T % 64:
        raise ConfigError(f"{src}: T={cfg.T} must be a positive multiple of 64")
    if cfg.F <= 0 or cfg.F % 64:
        raise ConfigError(f"{src}: F={cfg.F} must be a positive multiple of 64")
    if cfg.n_bins < cfg.F:
        raise ConfigError(f"{src}: F={cfg.F} exceeds the {cfg.n_bins} bins of the STFT")
    if cfg.frame_length % cfg.frame_step:
        raise ConfigError(f"{src}: frame_length must be a multiple of frame_step")
    if cfg.n_channels != 2:
        raise ConfigError(f"{src}: only stereo models (n_channels=2) exist; got {cfg.n_channels}")
    if cfg.mask_extension not in MASK_EXTENSIONS:
        raise ConfigError(
            f"{src}: mask_extension {cfg.mask_extension!r} is not one of {MASK_EXTENSIONS}"
        )
    if len(cfg.conv_filters) != 6 or any(f <= 0 for f in cfg.conv_filters):
        raise ConfigError(f"{src}: conv_n_filters must list six positive filter counts")
    if cfg.sample_rate <= 0 or cfg.separation_exponent <= 0:
        raise ConfigError(f"{src}: sample_rate and separation_exponent must be positive")


def load_config(descriptor: str | Path) -> ModelConfig:
    """Load a configuration from ``spleeter:<name>`` or from a JSON file path.

    Parameters
    ----------
    descriptor : str or Path
        ``"spleeter:2stems"`` (also 4stems, 5stems and the ``-16kHz`` variants) or the path of
        a JSON file in Spleeter's configuration format.
    """
    text = str(descriptor)
    if text.startswith(EMBEDDED_PREFIX):
        short = text[len(EMBEDDED_PREFIX) :]
        if short not in EMBEDDED_NAMES:
            raise ConfigError(
                f"unknown embedded configuration {text!r}; choose one of "
                + ", ".join(EMBEDDED_PREFIX + n for n in EMBEDDED_NAMES)
            )
        raw = json.loads(
            resources.files(__package__).joinpath(f"resources/{short}.json").read_text()
        )
        return config_from_dict(raw, name=text)
    path = Path(text)
    if not path.is_file():
        raise ConfigError(
            f"configuration {text!r} is neither an embedded name (spleeter:2stems, ...) "
            "nor an existing JSON file"
        )
    try:
        raw = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: a configuration must be a JSON object")
    return config_from_dict(raw, name=str(path))
