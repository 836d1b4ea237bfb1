"""Float precision of the separation: exact float32 by default, faster modes on request.

GPUs since NVIDIA's Ampere multiply float32 matrices in TensorFloat-32 (TF32, a 10-bit
mantissa) when allowed, and TensorFlow, JAX and PyTorch differ in whether they allow it by
default. So the precision is explicit:

- ``exact`` (default): float32 everywhere, TF32 off (TensorFlow
  ``enable_tensor_float_32_execution(False)``, JAX matmul and convolution precision
  ``float32``, i.e. ``HIGHEST``; PyTorch ``allow_tf32 = False`` for matmul and cuDNN). The stems
  agree across backends and devices to float32 rounding, and with original Spleeter.
- ``tf32``: TF32 matrix products and convolutions where the GPU has them (float32
  accumulation). No effect on CPUs.
- ``bf16``: the U-Net computes in bfloat16 (Keras ``mixed_bfloat16`` policy: weights stay
  float32, layers compute in bfloat16), with TF32 allowed for what stays float32; the STFT,
  masks and inverse STFT stay float32.

Any precision but ``exact`` changes the stems and enters the stems code version
(:attr:`Precision.code_version_flag`).

TensorFlow's and PyTorch's TF32 switches are process-wide. :meth:`Precision.scope` sets them
before every computation of the engine, so separators of different precisions can follow each
other in one process, but must not run at the same time. JAX's precision is scoped to each call.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

PRECISIONS = ("exact", "tf32", "bf16")
DEFAULT_PRECISION = "exact"


@dataclass(frozen=True)
class Precision:
    """One of :data:`PRECISIONS`, and what it means for each backend."""

    name: str = DEFAULT_PRECISION

    def __post_init__(self) -> None:
        if self.name not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {self.name!r}")

    @property
    def allow_tf32(self) -> bool:
        """Whether float32 matrix products and convolutions may use TF32."""
        return self.name != "exact"

    @property
    def dtype_policy(self) -> str:
        """The Keras dtype policy the U-Net is built with."""
        return "mixed_bfloat16" if self.name == "bf16" else "float32"

    @property
    def jax_matmul_precision(self) -> str:
        """JAX's ``default_matmul_precision`` for float32 operands."""
        return "tensorfloat32" if self.allow_tf32 else "float32"

    @property
    def code_version_flag(self) -> str:
        """``""`` for ``exact``, else ``+<name>`` (it changes the stems)."""
        return "" if self.name == DEFAULT_PRECISION else f"+{self.name}"

    @contextlib.contextmanager
    def building(self) -> Iterator[None]:
        """Build Keras layers inside with this precision's dtype policy (thread-local)."""
        import keras

        previous = keras.config.dtype_policy()
        keras.config.set_dtype_policy(self.dtype_policy)
        try:
            yield
        finally:
            keras.config.set_dtype_policy(previous)

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Run the block with this precision on the active backend."""
        import keras

        backend = keras.backend.backend()
        if backend == "jax":
            import jax

            with jax.default_matmul_precision(self.jax_matmul_precision):
                yield
            return
        if backend == "tensorflow":
            import tensorflow as tf

            if tf.config.experimental.tensor_float_32_execution_enabled() != self.allow_tf32:
                tf.config.experimental.enable_tensor_float_32_execution(self.allow_tf32)
        elif backend == "torch":
            import torch

            torch.backends.cuda.matmul.allow_tf32 = self.allow_tf32
            torch.backends.cudnn.allow_tf32 = self.allow_tf32
        yield
