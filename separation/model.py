"""The model a :class:`~separation.Separator` runs, loaded once and shared by every call.

Spleeter rebuilds its estimator for every call; here a :class:`SeparationModel` resolves its
device, fetches and verifies the checkpoint (or reads a converted weights file, which needs no
TensorFlow: :mod:`separation.weights_file`), builds the Keras U-Net with its precision's dtype
policy and assigns its weights once, on first use, then keeps one
:class:`~separation.engine.ChunkProcessor` per chunk size (segments per chunk). Concurrent
tracks must share one processor, since its :class:`~separation.batching.ModelBatcher` is what
puts their chunks into one model call, so loading and building processors are serialised by a
lock.

It also owns the chunk geometry (:meth:`SeparationModel.plan`), which depends on the same
settings: segment count, overlap and whether tracks are batched.
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .backends import device_scope
from .checkpoint import assign_weights, load_converted
from .chunking import ChunkPlan
from .device import Device, resolve_device
from .engine import ChunkProcessor
from .precision import Precision
from .provider import CHECKPOINT_FILES, KNOWN_FILE_SHA256, ModelFiles, checkpoint_digest

if TYPE_CHECKING:
    import keras

    from .configs import ModelConfig
    from .provider import ModelProvider
    from .stage_clock import StageClock

log = logging.getLogger(__name__)


class SeparationModel:
    """A Spleeter model ready to separate chunks: device, weights and chunk processors.

    Parameters
    ----------
    config : ModelConfig
        The model's configuration (STFT, U-Net, instruments, checkpoint directory).
    provider : ModelProvider
        Where the checkpoint comes from.
    device : str
        Requested device, ``"auto"``, ``"cpu"`` or ``"gpu"``; resolved on first use
        (:mod:`separation.device`).
    overlap : bool
        Also run the U-Net on the half-segment-shifted grid (see :mod:`separation.engine`).
    chunk_segments : int, optional
        Segments per chunk; the device's default when ``None``.
    batch_tracks : int
        Chunks per model call when tracks are batched (one per track).
    precision : Precision, optional
        Float precision (:mod:`separation.precision`); ``exact`` when ``None``.
    weights : Path, optional
        A converted weights file to load instead of the checkpoint; ``provider`` is then not
        used and TensorFlow not needed.
    stage_clock : StageClock, optional
        Handed to every chunk processor (:mod:`separation.stage_clock`).
    """

    def __init__(
        self,
        config: ModelConfig,
        provider: ModelProvider,
        device: str,
        *,
        overlap: bool,
        chunk_segments: int | None,
        batch_tracks: int,
        precision: Precision | None = None,
        weights: Path | None = None,
        stage_clock: StageClock | None = None,
    ) -> None:
        self.config = config
        self.provider = provider
        self.requested_device = device
        self.overlap = overlap
        self.batch_tracks = batch_tracks
        self.precision = precision or Precision()
        self.weights_path = None if weights is None else Path(weights)
        self.stage_clock = stage_clock
        self._chunk_segments = chunk_segments
        self._device: Device | None = None
        self._keras: keras.Model | None = None
        self._files: ModelFiles | None = None
        self._processors: dict[int, ChunkProcessor] = {}
        self._lock = threading.Lock()

    @property
    def device(self) -> Device:
        """The device the model runs on (resolved on first use)."""
        if self._device is None:
            self._device = resolve_device(self.requested_device)
        return self._device

    @property
    def chunk_segments(self) -> int:
        """Segments per processing chunk (the device's default unless given)."""
        return self._chunk_segments or self.device.default_chunk_segments

    @property
    def keras_model(self) -> keras.Model:
        """The Keras U-Net with its weights (loads it if needed)."""
        self.load()
        return self._keras

    @property
    def files(self) -> ModelFiles:
        """The verified checkpoint in use (loads the model if needed)."""
        self.load()
        assert self._files is not None
        return self._files

    def load(self) -> None:
        """Fetch, verify and load the weights and build the model, once."""
        with self._lock:
            self._load_locked()

    def _load_locked(self) -> None:
        if self._keras is not None:
            return
        from .unet import build_unet

        started = time.perf_counter()
        weights, files = self._read_weights()
        with device_scope(self.device.name), self.precision.scope(), self.precision.building():
            model = build_unet(self.config)
            assign_weights(model, weights)
        self._keras, self._files = model, files
        log.info(
            "loaded %s (checkpoint %s, from %s) on %s in %.1fs",
            self.config.name, files.checkpoint_sha256[:12], files.source, self.device.kind,
            time.perf_counter() - started,
        )  # fmt: skip

    def _read_weights(self) -> tuple[dict, ModelFiles]:
        """The mapped weights and the checkpoint they come from: from the weights file when
        one is given, else from the provider's checkpoint through the converted cache."""
        if self.weights_path is not None:
            from .weights_file import read_weights

            found = read_weights(
                self.weights_path, self.config, published_checkpoint_digest(self.config)
            )
            source = f"weights file {found.path} ({found.storage})"
            return found.weights, ModelFiles(found.path.parent, found.checkpoint_sha256, source)
        files = self.provider.get(self.config.model_dir)
        converted = load_converted(
            self.config, files.prefix, files.checkpoint_sha256,
            cache_dir=self.provider.model_path / ".converted",
        )  # fmt: skip
        return converted.weights, files

    def processor(self, segments: int) -> ChunkProcessor:
        """The chunk processor for chunks of ``segments`` segments (built once, shared)."""
        self.load()
        with self._lock:  # concurrent tracks must share one processor (and its batcher)
            if segments not in self._processors:
                cfg = self.config
                template = ChunkPlan(
                    0, cfg.frame_length, cfg.frame_step, cfg.T, segments, self.overlap
                )
                self._processors[segments] = ChunkProcessor(
                    cfg, self._keras, template, self.device.name, self.batch_tracks,
                    self.precision, self.stage_clock,
                )  # fmt: skip
            return self._processors[segments]

    def plan(self, n_samples: int) -> ChunkPlan:
        """Chunk plan for ``n_samples`` at the model rate.

        Short inputs use fewer segments per chunk, except when tracks are batched: batched
        tracks share one chunk shape, hence one processor and one model call.
        """
        cfg = self.config
        full = ChunkPlan(n_samples, cfg.frame_length, cfg.frame_step, cfg.T, 1, self.overlap)
        segments = self.chunk_segments
        if self.batch_tracks == 1:
            segments = min(segments, max(1, -(-full.n_frames // cfg.T)))
        return ChunkPlan(n_samples, cfg.frame_length, cfg.frame_step, cfg.T, segments, self.overlap)


def published_checkpoint_digest(config: ModelConfig) -> str | None:
    """The checkpoint digest (:func:`~separation.provider.checkpoint_digest`) of the published
    checkpoint ``config`` loads, where its files' digests are known; ``None`` elsewhere."""
    known = KNOWN_FILE_SHA256.get(config.checkpoint_name, {})
    if not all(name in known for name in CHECKPOINT_FILES):
        return None
    return checkpoint_digest(known)
