"""The per-chunk signal path: STFT, U-Net, masks, inverse STFT, compiled for the Keras backend.

This is Spleeter's prediction graph (``spleeter/model/__init__.py``) applied to one chunk of
whole segments (see :mod:`separation.chunking`):

1. STFT with a periodic Hann window (``frame_length``, hop ``frame_step``), magnitude of the
   first ``F`` bins, cut into ``T``-frame segments (:mod:`separation.signal`);
2. the U-Net gives each instrument's magnitude estimate;
3. ratio masks ``(est_i**p + eps/n) / (sum_j est_j**p + eps)`` with ``p =
   separation_exponent`` and ``eps = 1e-10``, extended above ``F`` with zeros or the average
   mask;
4. masked STFT, inverse STFT with the forward window, scaled by 2/3 (the window's overlap sum
   at hop N/4 is 1.5).

With ``overlap`` the U-Net also runs on a grid shifted by half a segment and the two estimates
are cross-faded with triangular weights that sum to one, removing the seams at segment edges.

Everything is ``keras.ops``, compiled per backend (:mod:`separation.backends`) in three
functions of fixed shapes: the STFT (front), the U-Net on a batch of chunks (middle, shared by
the tracks of a :class:`~separation.batching.ModelBatcher`) and masks plus inverse STFT (back).
On TensorFlow the front and back are XLA-compiled (about 3x faster on CPU than TensorFlow's
own kernels) and the U-Net runs on TensorFlow's kernels, which are faster than XLA's on CPU.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from .backends import compile_function, compile_model_function, device_scope, to_numpy
from .batching import ModelBatcher
from .chunking import ChunkPlan
from .precision import Precision
from .signal import WINDOW_COMPENSATION, inverse_stft, magnitude, stft

if TYPE_CHECKING:
    import keras

    from .configs import ModelConfig
    from .stage_clock import StageClock

MASK_EPSILON = 1e-10

Tensor = Any
T = TypeVar("T")


def grid_weights(segment_frames: int) -> np.ndarray:
    """Triangular weights of the unshifted grid at each frame position of a segment.

    The shifted grid's weight at the same frame is ``1 - w``: both grids weigh a frame by its
    distance from their nearest segment edge.
    """
    pos = np.arange(segment_frames, dtype=np.float64)
    half = segment_frames / 2
    return (np.minimum(pos + 0.5, segment_frames - pos - 0.5) / half).astype(np.float32)


class ChunkProcessor:
    """Separate fixed-size chunks with a loaded model, as compiled backend functions.

    Parameters
    ----------
    cfg : ModelConfig
        Model configuration (STFT, masks, instruments).
    model : keras.Model
        The loaded U-Net from :func:`separation.unet.build_unet`.
    plan : ChunkPlan
        Chunk geometry; every call takes ``plan.input_length`` samples and returns
        ``plan.output_length`` samples per instrument.
    device : str
        Keras device every step runs on (``cpu:0``, ``gpu:0``).
    batch_chunks : int
        Chunks per model call when several tracks share this processor (one thread each, see
        :mod:`separation.batching`); batches of fewer chunks are padded to this size so the
        model keeps one fixed input shape.
    precision : Precision
        Float precision of every step (:mod:`separation.precision`).
    clock : StageClock, optional
        Charged with the ``stft``, ``model`` and ``istft`` stages while it records
        (:mod:`separation.stage_clock`); ``None`` (default) times nothing.
    """

    def __init__(
        self,
        cfg: ModelConfig,
        model: keras.Model,
        plan: ChunkPlan,
        device: str = "cpu:0",
        batch_chunks: int = 1,
        precision: Precision | None = None,
        clock: StageClock | None = None,
    ) -> None:
        self.cfg = cfg
        self.model = model
        self.plan = plan
        self.device = device
        self.precision = precision or Precision()
        self.clock = clock
        self.batcher = ModelBatcher(self._run_batch, batch_chunks)
        self._weights = np.tile(grid_weights(cfg.T), plan.chunk_segments)[:, None, None, None]
        self._front = compile_function(self._front_impl)
        self._mid = compile_model_function(model, self._model_estimates)
        self._back = compile_function(self._back_impl)
        self._inverse = compile_function(self._istft)

    @contextlib.contextmanager
    def _running(self) -> Iterator[None]:
        with device_scope(self.device), self.precision.scope():
            yield

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        """Separate one chunk ``(input_length, 2)``; returns ``(n_instr, output_length, 2)``."""
        with self._running():
            real, imag, mag = self._stage("stft", lambda: self._front(self._tensor(chunk)))
            est = self.batcher(mag)
            return self._stage("istft", lambda: to_numpy(self._back(real, imag, est)))

    def estimates(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The chunk's central complex STFT and the U-Net magnitude estimates (for MWF)."""
        with self._running():
            real, imag, mag = self._stage("stft", lambda: self._front(self._tensor(chunk)))
            est = self.batcher(mag)
            ctx, m = self.plan.context_frames, self.plan.chunk_frames
            central = to_numpy(real[ctx : ctx + m]) + 1j * to_numpy(imag[ctx : ctx + m])
            return central.astype(np.complex64), to_numpy(est)

    def inverse(self, stft_sources: np.ndarray) -> np.ndarray:
        """Inverse STFT of source STFTs ``(M, bins, 2, n)`` (complex) → ``(n, out_len, 2)``."""
        with self._running():
            real = self._tensor(stft_sources.real)
            imag = self._tensor(stft_sources.imag)
            return self._stage("istft", lambda: to_numpy(self._inverse(real, imag)))

    def _stage(self, name: str, fn: Callable[[], T]) -> T:
        """``fn()``, charged to stage ``name`` of the clock when there is one."""
        return fn() if self.clock is None else self.clock.run(name, fn)

    def _run_batch(self, mags: list) -> list:
        """U-Net estimates for the magnitudes of several chunks in one model call."""
        from keras import ops

        n, size = len(mags), self.batcher.max_items
        with self._running():
            if n < size:
                mags = [*mags, *([ops.zeros_like(mags[0])] * (size - n))]

            def call() -> Tensor:
                return self._mid(ops.stack(mags) if size > 1 else ops.expand_dims(mags[0], 0))

            est = self._stage("model", call)
            return [est[i] for i in range(n)]

    @staticmethod
    def _tensor(x: np.ndarray) -> Tensor:
        from keras import ops

        return ops.convert_to_tensor(np.ascontiguousarray(x, dtype=np.float32))

    def _front_impl(self, chunk: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """STFT of the chunk ``(frames, bins, 2)`` (real, imaginary) and the magnitude of its
        first ``F`` bins."""
        from keras import ops

        cfg = self.cfg
        real, imag = stft(ops.transpose(chunk), cfg.frame_length, cfg.frame_step)
        real = ops.transpose(real, (1, 2, 0))  # (frames, bins, channels)
        imag = ops.transpose(imag, (1, 2, 0))
        return real, imag, magnitude(real[:, : cfg.F], imag[:, : cfg.F])

    def _model_estimates(self, call_model, mags: Tensor) -> Tensor:
        """U-Net estimates for the central frames of ``k`` chunks: ``(k, M, F, 2, n_instr)``."""
        from keras import ops

        cfg, plan = self.cfg, self.plan
        ctx, m, n = plan.context_frames, plan.chunk_frames, len(cfg.instruments)
        k = mags.shape[0]
        central = ops.reshape(mags[:, ctx : ctx + m], (-1, cfg.T, cfg.F, 2))
        est = ops.cast(call_model(central), "float32")
        est = ops.reshape(est, (k, m, cfg.F, 2, n))
        if not plan.overlap:
            return est
        shifted = ops.reshape(mags, (-1, cfg.T, cfg.F, 2))
        est_b = ops.cast(call_model(shifted), "float32")
        est_b = ops.reshape(est_b, (k, m + 2 * ctx, cfg.F, 2, n))[:, ctx : ctx + m]
        return ops.multiply(self._weights, est) + ops.multiply(1.0 - self._weights, est_b)

    def _masks(self, est: Tensor) -> Tensor:
        """Ratio masks ``(M, bins, 2, n)`` from estimates ``(M, F, 2, n)``."""
        from keras import ops

        cfg = self.cfg
        n = len(cfg.instruments)
        powered = ops.power(est, cfg.separation_exponent)
        total = ops.sum(powered, axis=-1, keepdims=True)
        masks = (powered + MASK_EPSILON / n) / (total + MASK_EPSILON)
        frames, extra = masks.shape[0], cfg.n_bins - cfg.F
        if cfg.mask_extension == "average":
            fill = ops.mean(masks, axis=1, keepdims=True)
            fill = ops.broadcast_to(fill, (frames, extra, 2, n))
        else:
            fill = ops.zeros((frames, extra, 2, n), dtype=masks.dtype)
        return ops.concatenate([masks, fill], axis=1)

    def _istft(self, real: Tensor, imag: Tensor) -> Tensor:
        """Inverse STFT of ``(M, bins, 2, n)`` pairs → ``(n, output_length, 2)``."""
        from keras import ops

        cfg = self.cfg
        real = ops.transpose(real, (3, 2, 0, 1))  # (n, channels, frames, bins)
        imag = ops.transpose(imag, (3, 2, 0, 1))
        wave = inverse_stft(real, imag, cfg.frame_length, cfg.frame_step)
        return ops.transpose(wave, (0, 2, 1)) * WINDOW_COMPENSATION

    def _back_impl(self, real: Tensor, imag: Tensor, est: Tensor) -> Tensor:
        """Ratio masks applied to the central frames, then the inverse STFT."""
        from keras import ops

        plan = self.plan
        masks = self._masks(est)
        ctx, m = plan.context_frames, plan.chunk_frames
        central_real = ops.expand_dims(real[ctx : ctx + m], -1)
        central_imag = ops.expand_dims(imag[ctx : ctx + m], -1)
        return self._istft(masks * central_real, masks * central_imag)
