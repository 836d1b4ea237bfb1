"""U-Net weights as one self-describing file, loadable without TensorFlow.

Spleeter's checkpoints are TensorFlow checkpoints, and only TensorFlow reads them. A converted
weights file holds the same weights, mapped onto the Keras U-Net (:mod:`separation.checkpoint`),
as one NumPy ``.npz`` archive (no dependency beyond NumPy), so hosts running the JAX or PyTorch
backend never need TensorFlow. Besides the arrays it holds a JSON record (:data:`META_KEY`)
saying what the weights are:

- ``format`` and ``version`` of the file;
- ``model``: the configuration it was converted for (its name and instruments) and
  ``architecture_sha256``, the digest of every configuration value the weights depend on
  (:func:`architecture_digest`): instruments, U-Net type, activations, filter counts, channel
  count and checkpoint name. STFT and mask settings are not among them, so the ``-16kHz``
  variants use their base model's file, as they use its checkpoint;
- ``checkpoint_sha256``: the digest of the original checkpoint
  (:func:`separation.provider.checkpoint_digest`), reported as the checkpoint loaded;
- ``storage``: how the values are stored (:data:`STORAGES`);
- ``weights_sha256``: the digest of every stored array's name, dtype, shape and bytes, so a
  damaged or edited file is refused rather than used.

Storage is ``float32`` (the checkpoint's exact values; 75 MiB for 2stems) or ``compact``: each
value rounded to :data:`COMPACT_MANTISSA_BITS` of float32's 23 mantissa bits (a relative change
of at most 2^-18) and stored as four deflated byte planes, 51 MiB for 2stems (reading takes
about 1 s more). Rounding moves the stems by 100 to 111 dB below their level (measured on two
seeded mixes), close to the 114 to 119 dB by which the JAX backend's stems differ from
TensorFlow's. Half precision (float16) would halve the size but moves the stems by only 63 to
69 dB, so it is not offered.

Writing needs the checkpoint, hence TensorFlow (:func:`convert_checkpoint`); reading needs
NumPy only (:func:`read_weights`). Every refusal is a one-line :class:`WeightsFileError`.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from atomicfile import atomic_path

from .checkpoint import CheckpointError

if TYPE_CHECKING:
    from .configs import ModelConfig
    from .provider import ModelProvider

FORMAT = "stemline-unet-weights"
VERSION = 1
META_KEY = "__stemline__"
STORAGES = ("float32", "compact")
#: Mantissa bits (of float32's 23) the ``compact`` storage keeps.
COMPACT_MANTISSA_BITS = 17
RECORD_KEYS = ("checkpoint_sha256", "storage", "weights_sha256")
MODEL_KEYS = ("name", "instruments", "architecture_sha256")


class WeightsFileError(CheckpointError):
    """A converted weights file is unreadable, damaged, or made for another model."""


@dataclass(frozen=True)
class WeightsFile:
    """The weights of a converted file, as float32, and what the file says about them."""

    path: Path
    model: str
    instruments: tuple[str, ...]
    checkpoint_sha256: str
    storage: str
    weights: dict[str, np.ndarray]


def architecture_digest(cfg: ModelConfig) -> str:
    """sha256 of the configuration values that give the weights their meaning."""
    values = {
        "instruments": list(cfg.instruments),
        "model_type": cfg.model_type,
        "conv_activation": cfg.conv_activation,
        "deconv_activation": cfg.deconv_activation,
        "conv_filters": list(cfg.conv_filters),
        "n_channels": cfg.n_channels,
        "checkpoint": cfg.checkpoint_name,
    }
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


def weights_digest(weights: Mapping[str, np.ndarray]) -> str:
    """sha256 over every array's name, dtype, shape and bytes, in name order."""
    digest = hashlib.sha256()
    for name in sorted(weights):
        value = np.ascontiguousarray(weights[name])
        digest.update(f"{name}|{value.dtype.str}|{value.shape}\n".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def write_weights(
    path: Path,
    cfg: ModelConfig,
    weights: Mapping[str, np.ndarray],
    checkpoint_sha256: str,
    storage: str = "float32",
) -> Path:
    """Write mapped weights (``"{layer}/{weight}"`` keys) for ``cfg`` to ``path`` atomically.

    ``storage`` is ``float32`` (exact) or ``compact`` (see the module docstring).
    """
    if storage not in STORAGES:
        raise ValueError(f"storage must be one of {', '.join(STORAGES)}, got {storage!r}")
    if META_KEY in weights:
        raise ValueError(f"{META_KEY} is reserved for the file's description")
    values = {name: np.asarray(value, dtype=np.float32) for name, value in weights.items()}
    stored = values if storage == "float32" else {k: _to_planes(v) for k, v in values.items()}
    meta = {
        "format": FORMAT,
        "version": VERSION,
        "model": {
            "name": cfg.name,
            "instruments": list(cfg.instruments),
            "architecture_sha256": architecture_digest(cfg),
        },
        "checkpoint_sha256": checkpoint_sha256,
        "storage": storage,
        "weights_sha256": weights_digest(stored),
    }
    stored[META_KEY] = np.frombuffer(json.dumps(meta, sort_keys=True).encode(), dtype=np.uint8)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    save = np.savez if storage == "float32" else np.savez_compressed
    with atomic_path(path) as tmp, tmp.open("wb") as fh:
        save(fh, **stored)
    return path


def _to_planes(value: np.ndarray) -> np.ndarray:
    """float32 rounded to :data:`COMPACT_MANTISSA_BITS`, as byte planes ``(4, *shape)``
    (least significant first), which deflate compresses well where one holds the exponent."""
    drop = 23 - COMPACT_MANTISSA_BITS
    bits = np.ascontiguousarray(value).view(np.uint32).astype(np.uint64)
    bits = ((bits + (1 << (drop - 1))) >> drop) << drop  # round half away from zero
    rounded = bits.astype(np.uint32)
    if not np.isfinite(rounded.view(np.float32)).all():
        raise ValueError("weights too large for compact storage")
    return np.stack([(rounded >> (8 * i)).astype(np.uint8) for i in range(4)])


def _from_planes(planes: np.ndarray) -> np.ndarray:
    """Inverse of :func:`_to_planes` (exact)."""
    bits = sum(planes[i].astype(np.uint32) << np.uint32(8 * i) for i in range(4))
    return bits.view(np.float32)


def read_weights(
    path: Path, cfg: ModelConfig, expected_checkpoint_sha256: str | None = None
) -> WeightsFile:
    """Read a converted weights file for ``cfg``, checking its identity and integrity.

    Parameters
    ----------
    path : Path
        The ``.npz`` file.
    cfg : ModelConfig
        The configuration the weights must fit (:func:`architecture_digest`).
    expected_checkpoint_sha256 : str, optional
        When given, the checkpoint the file must have been converted from.

    Raises
    ------
    WeightsFileError
        Unreadable, not a weights file, damaged, made for another model or checkpoint.
    """
    path = Path(path)
    arrays = _load_arrays(path)
    meta = _description(path, arrays.pop(META_KEY, None))
    model = meta["model"]
    if model["architecture_sha256"] != architecture_digest(cfg):
        raise WeightsFileError(
            f"{path}: made for {model['name']} ({', '.join(model['instruments'])}), "
            f"which does not fit {cfg.name} ({', '.join(cfg.instruments)})"
        )
    if weights_digest(arrays) != meta["weights_sha256"]:
        raise WeightsFileError(f"{path}: weights do not match their recorded sha256 (damaged)")
    recorded = meta["checkpoint_sha256"]
    if expected_checkpoint_sha256 is not None and recorded != expected_checkpoint_sha256:
        raise WeightsFileError(
            f"{path}: converted from checkpoint {recorded[:16]}, expected "
            f"{expected_checkpoint_sha256[:16]}"
        )
    storage = meta["storage"]
    if storage not in STORAGES:
        raise WeightsFileError(f"{path}: unknown storage {storage!r}")
    decode = _from_planes if storage == "compact" else np.asarray
    weights = {name: decode(value) for name, value in arrays.items()}
    return WeightsFile(path, model["name"], tuple(model["instruments"]), recorded, storage, weights)


def _load_arrays(path: Path) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise WeightsFileError(f"{path}: no such weights file")
    try:
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise WeightsFileError(f"{path}: unreadable weights file ({exc})") from exc


def _description(path: Path, raw: np.ndarray | None) -> dict:
    """The file's JSON record, checked for the fields this version needs."""
    try:
        meta = json.loads(bytes(raw).decode()) if raw is not None else {}
    except (UnicodeDecodeError, ValueError):
        meta = {}
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WeightsFileError(f"{path}: not a stemline weights file (no {META_KEY} record)")
    if meta.get("version") != VERSION:
        raise WeightsFileError(
            f"{path}: weights file version {meta.get('version')}, this stemline reads {VERSION}"
        )
    model = meta.get("model")
    missing = [key for key in RECORD_KEYS if key not in meta]
    if not isinstance(model, dict):
        missing.append("model")
    else:
        missing += [f"model.{key}" for key in MODEL_KEYS if key not in model]
    if missing:
        raise WeightsFileError(f"{path}: incomplete weights file record (no {', '.join(missing)})")
    return meta


def convert_checkpoint(
    cfg: ModelConfig, provider: ModelProvider, destination: Path, storage: str = "float32"
) -> Path:
    """Convert ``cfg``'s verified checkpoint into a weights file (needs TensorFlow).

    The checkpoint comes from ``provider`` (fetched if needed and allowed).
    """
    from .checkpoint import map_checkpoint, read_checkpoint

    files = provider.get(cfg.model_dir)
    weights = map_checkpoint(cfg, read_checkpoint(files.prefix))
    return write_weights(destination, cfg, weights, files.checkpoint_sha256, storage)
