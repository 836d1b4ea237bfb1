"""Read Spleeter's TensorFlow checkpoints and map them onto the Keras U-Net.

Spleeter's layers are unnamed, so TF1 Keras numbered the variables per layer class in creation
order, with no scope. Inside instrument ``i`` (its position in ``instrument_list``):

=====================  =================================================
Keras layer            checkpoint variable prefix
=====================  =================================================
encoder conv j (0..5)  ``conv2d{sfx(7i + j)}``
final mask conv        ``conv2d{sfx(7i + 6)}``
decoder deconv j       ``conv2d_transpose{sfx(6i + j)}``
encoder BN j (0..4)    ``batch_normalization{sfx(12i + j)}``
decoder BN j (0..5)    ``batch_normalization{sfx(12i + 6 + j)}``
=====================  =================================================

where ``sfx(0) = ""`` and ``sfx(n) = "_n"``. ``batch_normalization{sfx(12i + 5)}`` (the sixth
encoder batch norm) is dead in Spleeter's graph and is the only variable left unused, with
``global_step``. Kernel layouts of TF and Keras agree, so no transposition is needed.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import keras

    from .configs import ModelConfig

log = logging.getLogger(__name__)

BN_PARTS = ("gamma", "beta", "moving_mean", "moving_variance")
#: Version of the converted cache's name (a new one leaves older caches unused).
CACHE_FORMAT = 2


class CheckpointError(RuntimeError):
    """A checkpoint is missing, partial, or does not fit the configured model."""


def _sfx(n: int) -> str:
    return "" if n == 0 else f"_{n}"


def expected_variables(cfg: ModelConfig) -> dict[str, str]:
    """Map every Keras weight of the model for ``cfg`` to its checkpoint variable name.

    Keys are ``"{layer}/{weight}"`` (``kernel``, ``bias`` or a batch-norm part); values are
    the checkpoint names produced by Spleeter's TF1 auto-naming.
    """
    mapping: dict[str, str] = {}
    for i, inst in enumerate(cfg.instruments):
        for j in range(6):
            conv = f"conv2d{_sfx(7 * i + j)}"
            mapping[f"{inst}_conv{j + 1}/kernel"] = f"{conv}/kernel"
            mapping[f"{inst}_conv{j + 1}/bias"] = f"{conv}/bias"
            deconv = f"conv2d_transpose{_sfx(6 * i + j)}"
            mapping[f"{inst}_deconv{j + 1}/kernel"] = f"{deconv}/kernel"
            mapping[f"{inst}_deconv{j + 1}/bias"] = f"{deconv}/bias"
            dec_bn = f"batch_normalization{_sfx(12 * i + 6 + j)}"
            for part in BN_PARTS:
                mapping[f"{inst}_dec_bn{j + 1}/{part}"] = f"{dec_bn}/{part}"
            if j < 5:
                enc_bn = f"batch_normalization{_sfx(12 * i + j)}"
                for part in BN_PARTS:
                    mapping[f"{inst}_enc_bn{j + 1}/{part}"] = f"{enc_bn}/{part}"
        final = f"conv2d{_sfx(7 * i + 6)}"
        mapping[f"{inst}_mask_conv/kernel"] = f"{final}/kernel"
        mapping[f"{inst}_mask_conv/bias"] = f"{final}/bias"
    return mapping


def unused_variables(cfg: ModelConfig) -> set[str]:
    """Checkpoint variables Spleeter writes but never uses at inference."""
    dead = {"global_step"}
    for i in range(len(cfg.instruments)):
        dead.update(f"batch_normalization{_sfx(12 * i + 5)}/{part}" for part in BN_PARTS)
    return dead


def read_checkpoint(prefix: Path) -> dict[str, np.ndarray]:
    """Read every variable of a TF checkpoint (``prefix`` is ``.../model``, without suffix).

    Only TensorFlow reads these files: without it, a converted weights file
    (:mod:`separation.weights_file`) is the way to the weights.
    """
    try:
        import tensorflow as tf
    except ImportError as exc:
        raise CheckpointError(
            f"{prefix}: reading a TensorFlow checkpoint needs TensorFlow ({exc}); install it "
            "or load a converted weights file (Separator(weights=...))"
        ) from exc

    index = Path(f"{prefix}.index")
    if not index.is_file():
        raise CheckpointError(f"{prefix}: no checkpoint here ({index.name} is missing)")
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        names = sorted(reader.get_variable_to_shape_map())
        return {name: np.asarray(reader.get_tensor(name)) for name in names}
    except (tf.errors.OpError, ValueError, IndexError, RuntimeError) as exc:
        raise CheckpointError(f"{prefix}: unreadable or partial checkpoint: {exc}") from exc


def map_checkpoint(cfg: ModelConfig, variables: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Select and check the checkpoint variables for ``cfg``'s model.

    Every expected variable must be present with a usable dtype; every checkpoint variable
    must be consumed except Spleeter's dead ones. Anything else means the checkpoint belongs to
    another model (say, a 4stems checkpoint behind a 2stems configuration) and is an error.
    """
    expected = expected_variables(cfg)
    missing = sorted(v for v in expected.values() if v not in variables)
    if missing:
        raise CheckpointError(
            f"checkpoint does not fit {cfg.name} ({len(cfg.instruments)} instruments): "
            f"{len(missing)} variables missing, e.g. {missing[:3]}"
        )
    leftover = sorted(set(variables) - set(expected.values()) - unused_variables(cfg))
    if leftover:
        raise CheckpointError(
            f"checkpoint does not fit {cfg.name} ({len(cfg.instruments)} instruments): "
            f"{len(leftover)} variables would be left unused, e.g. {leftover[:3]}"
        )
    return {key: np.asarray(variables[name], dtype=np.float32) for key, name in expected.items()}


def assign_weights(model: keras.Model, weights: Mapping[str, np.ndarray]) -> None:
    """Copy mapped weights (``"{layer}/{weight}"`` keys) into ``model``, checking shapes."""
    seen: set[str] = set()
    for layer in model.layers:
        if not layer.weights:
            continue
        values = []
        for w in layer.weights:
            key = f"{layer.name}/{_weight_role(w)}"
            if key not in weights:
                raise CheckpointError(f"no checkpoint value for model weight {key}")
            value = weights[key]
            if tuple(value.shape) != tuple(w.shape):
                raise CheckpointError(
                    f"shape mismatch for {key}: checkpoint {tuple(value.shape)}, "
                    f"model {tuple(w.shape)} (wrong configuration for this checkpoint?)"
                )
            values.append(value)
            seen.add(key)
        layer.set_weights(values)
    unused = sorted(set(weights) - seen)
    if unused:
        raise CheckpointError(f"{len(unused)} mapped weights have no model layer: {unused[:3]}")


def _weight_role(weight: keras.Variable) -> str:
    name = weight.path.rsplit("/", 1)[-1]
    return name.split(":")[0]


@dataclass(frozen=True)
class ConvertedWeights:
    """Weights mapped for one model configuration, plus the digest of their source."""

    weights: dict[str, np.ndarray]
    checkpoint_sha256: str


def _cache_key(cfg: ModelConfig, checkpoint_sha256: str) -> str:
    identity = {
        "format": CACHE_FORMAT,
        "checkpoint": checkpoint_sha256,
        "instruments": list(cfg.instruments),
        "filters": list(cfg.conv_filters),
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:24]


def load_converted(
    cfg: ModelConfig, prefix: Path, checkpoint_sha256: str, cache_dir: Path | None
) -> ConvertedWeights:
    """Return the model's weights, from the converted cache when it is present and intact.

    The first load reads the TF checkpoint and writes its mapped weights to ``cache_dir`` as a
    float32 weights file (:mod:`separation.weights_file`, which records its own digest and the
    checkpoint's); later loads read that file, which is several times faster and needs no
    TensorFlow. A cache file that is damaged or records another checkpoint is ignored and
    rewritten, never used.
    """
    from .weights_file import WeightsFileError, read_weights, write_weights

    cached = None if cache_dir is None else cache_dir / f"{_cache_key(cfg, checkpoint_sha256)}.npz"
    if cached is not None and cached.is_file():
        try:
            found = read_weights(cached, cfg, expected_checkpoint_sha256=checkpoint_sha256)
        except WeightsFileError as exc:
            log.warning("converting the checkpoint again: %s", exc)
        else:
            if found.storage == "float32":
                return ConvertedWeights(found.weights, checkpoint_sha256)
    weights = map_checkpoint(cfg, read_checkpoint(prefix))
    if cached is not None:
        write_weights(cached, cfg, weights, checkpoint_sha256)
    return ConvertedWeights(weights, checkpoint_sha256)
