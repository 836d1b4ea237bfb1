"""Checkpoints with seeded random weights, named the way Spleeter's TF1 graph named its variables.

They let the engine's checkpoint reader, full-size models and benchmarks run without the
released weights.

The naming is simulated independently of ``separation.checkpoint``: layers are created in
Spleeter's order (per instrument: conv/BN pairs of the encoder, deconv/BN pairs of the decoder,
then the final mask conv) and each layer class keeps its own TF1 counter (``conv2d``,
``conv2d_1``, ...), shared across instruments.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np

from separation.configs import ModelConfig


def randomize_weights(model, rng: np.random.Generator, scale: float) -> None:
    """Random weights for a built Keras U-Net: normal(0, ``scale``) for convolutions; batch
    norms get positive scales and identity moving statistics, so every variance is valid."""
    import keras

    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            n = layer.get_weights()[0].shape
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.1, n),
                               np.zeros(n), np.ones(n)])  # fmt: skip
        elif layer.weights:
            layer.set_weights([rng.normal(0, scale, w.shape) for w in layer.get_weights()])


def spleeter_variables(cfg: ModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Random values for every variable Spleeter's graph would save for ``cfg``."""
    rng = np.random.default_rng(seed)
    counters: Counter[str] = Counter()
    out: dict[str, np.ndarray] = {}

    def name(cls: str) -> str:
        n = counters[cls]
        counters[cls] += 1
        return cls if n == 0 else f"{cls}_{n}"

    def bn(channels: int) -> None:
        prefix = name("batch_normalization")
        out[f"{prefix}/gamma"] = rng.uniform(0.5, 1.5, channels).astype(np.float32)
        out[f"{prefix}/beta"] = rng.normal(0, 0.1, channels).astype(np.float32)
        out[f"{prefix}/moving_mean"] = np.zeros(channels, np.float32)
        out[f"{prefix}/moving_variance"] = np.ones(channels, np.float32)

    filters = list(cfg.conv_filters)
    for _inst in cfg.instruments:
        cin = 2
        for f in filters:
            prefix = name("conv2d")
            out[f"{prefix}/kernel"] = rng.normal(0, 0.05, (5, 5, cin, f)).astype(np.float32)
            out[f"{prefix}/bias"] = rng.normal(0, 0.01, f).astype(np.float32)
            bn(f)
            cin = f
        skips = list(reversed(filters[:-1]))
        dec = [*skips, 1]
        cin = filters[-1]
        for k, f in enumerate(dec):
            prefix = name("conv2d_transpose")
            out[f"{prefix}/kernel"] = rng.normal(0, 0.05, (5, 5, f, cin)).astype(np.float32)
            out[f"{prefix}/bias"] = rng.normal(0, 0.01, f).astype(np.float32)
            bn(f)
            cin = f + skips[k] if k < len(skips) else f
        prefix = name("conv2d")
        out[f"{prefix}/kernel"] = rng.normal(0, 0.05, (4, 4, 1, 2)).astype(np.float32)
        out[f"{prefix}/bias"] = np.zeros(2, np.float32)
    out["global_step"] = np.array(0, dtype=np.int64)
    return out


def write_checkpoint(directory: Path, variables: dict[str, np.ndarray]) -> Path:
    """Save ``variables`` as a TF V2 checkpoint ``directory/model``; returns the prefix."""
    import tensorflow as tf

    directory.mkdir(parents=True, exist_ok=True)
    prefix = directory / "model"
    names = sorted(variables)
    tf.raw_ops.SaveV2(
        prefix=str(prefix),
        tensor_names=names,
        shape_and_slices=[""] * len(names),
        tensors=[tf.constant(variables[n]) for n in names],
    )
    (directory / "checkpoint").write_text('model_checkpoint_path: "model"\n')
    return prefix
