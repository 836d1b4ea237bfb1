"""Where the separation model runs: ``--device auto|cpu|gpu``.

``auto`` takes the first GPU TensorFlow sees and the CPU otherwise; ``gpu`` insists on a GPU
and fails with a clear error when there is none (a silent fallback to the CPU would turn a
one-hour GPU job into a day); ``cpu`` keeps everything on the CPU even where a GPU exists.
"""

from __future__ import annotations

from dataclasses import dataclass

DEVICES = ("auto", "cpu", "gpu")

#: Segments (11.9 s each) per model call by device: on a CPU larger batches gain nothing and
#: cost memory (one segment per chunk peaks ~250 MB lower than two, at the same speed); a GPU
#: needs many segments per call to stay busy.
DEFAULT_CHUNK_SEGMENTS = {"cpu": 1, "gpu": 16}


class DeviceError(RuntimeError):
    """The requested device is not available to TensorFlow."""


@dataclass(frozen=True)
class Device:
    """A resolved device: its kind (``cpu``/``gpu``) and TensorFlow's name for it."""

    kind: str
    tf_name: str

    @property
    def default_chunk_segments(self) -> int:
        """Segments per model call that suit this device."""
        return DEFAULT_CHUNK_SEGMENTS[self.kind]


def resolve_device(requested: str = "auto") -> Device:
    """Resolve ``auto``/``cpu``/``gpu`` against the GPUs TensorFlow can see.

    Raises
    ------
    ValueError
        ``requested`` is not one of :data:`DEVICES`.
    DeviceError
        ``gpu`` was requested and TensorFlow sees no GPU.
    """
    if requested not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {requested!r}")
    if requested == "cpu":
        return Device("cpu", "/CPU:0")
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        return Device("gpu", "/GPU:0")
    if requested == "gpu":
        raise DeviceError(
            "device 'gpu' requested but TensorFlow sees no GPU (install stemline[gpu] for "
            f"TensorFlow with CUDA and check nvidia-smi; TensorFlow {tf.__version__}, "
            f"built with CUDA: {tf.test.is_built_with_cuda()})"
        )
    return Device("cpu", "/CPU:0")
