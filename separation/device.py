"""Where the separation model runs: ``--device auto|cpu|gpu``, on any Keras backend.

``auto`` takes the first GPU the Keras backend sees (TensorFlow's physical GPUs, JAX's ``gpu``
devices, PyTorch's CUDA devices) and the CPU otherwise; ``gpu`` insists on a GPU
and fails with a clear error when there is none (a silent fallback to the CPU would turn a
one-hour GPU job into a day); ``cpu`` keeps everything on the CPU even where a GPU exists.
"""

from __future__ import annotations

from dataclasses import dataclass

DEVICES = ("auto", "cpu", "gpu")

#: Segments (11.9 s each) per model call by device. On a CPU one segment keeps peak memory
#: ~200 MB lower than two (1.04 vs 1.25 GB) and meets the speed target; two are ~1.2x faster
#: with oneDNN kernels (``--chunk-segments 2``). A GPU needs many segments per call.
DEFAULT_CHUNK_SEGMENTS = {"cpu": 1, "gpu": 16}


class DeviceError(RuntimeError):
    """The requested device is not available."""


@dataclass(frozen=True)
class Device:
    """A resolved device: its kind (``cpu``/``gpu``) and Keras's name for it (``keras.device``)."""

    kind: str
    name: str

    @property
    def default_chunk_segments(self) -> int:
        """Segments per model call that suit this device."""
        return DEFAULT_CHUNK_SEGMENTS[self.kind]


def _gpu_count() -> tuple[int, str]:
    """GPUs the active Keras backend can use, and a description for error messages."""
    import keras

    backend = keras.backend.backend()
    if backend == "jax":
        import jax

        return sum(d.platform == "gpu" for d in jax.devices()), f"JAX {jax.__version__}"
    if backend == "torch":
        import torch

        return torch.cuda.device_count(), f"PyTorch {torch.__version__}"
    import tensorflow as tf

    built = f"TensorFlow {tf.__version__} (built with CUDA: {tf.test.is_built_with_cuda()})"
    return len(tf.config.list_physical_devices("GPU")), built


def resolve_device(requested: str = "auto") -> Device:
    """Resolve ``auto``/``cpu``/``gpu`` against the GPUs the active Keras backend can see.

    Raises
    ------
    ValueError
        ``requested`` is not one of :data:`DEVICES`.
    DeviceError
        ``gpu`` was requested and the backend sees no GPU.
    """
    if requested not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "cpu":
        return Device("cpu", "cpu:0")
    gpus, runtime = _gpu_count()
    if gpus:
        return Device("gpu", "gpu:0")
    if requested == "gpu":
        raise DeviceError(
            f"device 'gpu' requested but no GPU is visible to {runtime} (install the backend's "
            "CUDA build, e.g. stemline[gpu] for TensorFlow, and check nvidia-smi)"
        )
    return Device("cpu", "cpu:0")
