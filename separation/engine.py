"""The per-chunk signal path: STFT, U-Net, masks, inverse STFT, in one TensorFlow graph.

This is Spleeter's prediction graph (``spleeter/model/__init__.py``) applied to one chunk of
whole segments (see :mod:`separation.chunking`):

1. STFT with a periodic Hann window (``frame_length``, hop ``frame_step``), magnitude of the
   first ``F`` bins, cut into ``T``-frame segments;
2. the U-Net gives each instrument's magnitude estimate;
3. ratio masks ``(est_i**p + eps/n) / (sum_j est_j**p + eps)`` with ``p =
   separation_exponent`` and ``eps = 1e-10``, extended above ``F`` with zeros or the average
   mask;
4. masked complex STFT, inverse STFT with the forward window, scaled by 2/3 (the window's
   overlap sum at hop N/4 is 1.5).

With ``overlap`` the U-Net also runs on a grid shifted by half a segment and the two estimates
are cross-faded with triangular weights that sum to one, removing the seams at segment edges.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .batching import ModelBatcher
from .chunking import ChunkPlan

if TYPE_CHECKING:
    import keras

    from .configs import ModelConfig

MASK_EPSILON = 1e-10
WINDOW_COMPENSATION = 2.0 / 3.0


def grid_weights(segment_frames: int) -> np.ndarray:
    """Triangular weights of the unshifted grid at each frame position of a segment.

    The shifted grid's weight at the same frame is ``1 - w``: both grids weigh a frame by its
    distance from their nearest segment edge.
    """
    pos = np.arange(segment_frames, dtype=np.float64)
    half = segment_frames / 2
    return (np.minimum(pos + 0.5, segment_frames - pos - 0.5) / half).astype(np.float32)


class ChunkProcessor:
    """Separate fixed-size chunks with a loaded model, as a traced TensorFlow function.

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
        TensorFlow device every step runs on (``/CPU:0``, ``/GPU:0``).
    batch_chunks : int
        Chunks per model call when several tracks share this processor (one thread each, see
        :mod:`separation.batching`); batches of fewer chunks are padded to this size so the
        model keeps one fixed input shape.
    """

    def __init__(
        self,
        cfg: ModelConfig,
        model: keras.Model,
        plan: ChunkPlan,
        device: str = "/CPU:0",
        batch_chunks: int = 1,
    ) -> None:
        import tensorflow as tf

        self.cfg = cfg
        self.model = model
        self.plan = plan
        self.device = device
        self.batcher = ModelBatcher(self._run_batch, batch_chunks)
        self._weights = tf.constant(
            np.tile(grid_weights(cfg.T), plan.chunk_segments)[:, None, None, None]
        )
        self._window = tf.signal.hann_window(cfg.frame_length, periodic=True)
        spec = tf.TensorSpec([plan.input_length, cfg.n_channels], tf.float32)
        # XLA compiles the STFT and the mask/iSTFT graph (fixed chunk shapes, so once) and
        # makes them ~3x faster on CPU; the U-Net stays on TensorFlow's own kernels, which
        # XLA makes slower on CPU (measured: 23x -> 28x real time end to end, same output).
        self._front = tf.function(self._front_impl, input_signature=[spec], jit_compile=True)
        self._mid = tf.function(self._model_estimates)
        self._back = tf.function(self._back_impl, jit_compile=True)

    def __call__(self, chunk: np.ndarray) -> np.ndarray:
        """Separate one chunk ``(input_length, 2)``; returns ``(n_instr, output_length, 2)``."""
        import tensorflow as tf

        with tf.device(self.device):
            stft, mag = self._front(chunk)
            return self._back(stft, self.batcher(mag)).numpy()

    def estimates(self, chunk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The chunk's central complex STFT and the U-Net magnitude estimates (for MWF)."""
        import tensorflow as tf

        with tf.device(self.device):
            stft, mag = self._front(chunk)
            est = self.batcher(mag)
            ctx = self.plan.context_frames
            return stft[ctx : ctx + self.plan.chunk_frames].numpy(), est.numpy()

    def _run_batch(self, mags: list) -> list:
        """U-Net estimates for the magnitudes of several chunks in one model call."""
        import tensorflow as tf

        n, size = len(mags), self.batcher.max_items
        with tf.device(self.device):
            if n < size:
                mags = [*mags, *([tf.zeros_like(mags[0])] * (size - n))]
            est = self._mid(tf.stack(mags) if size > 1 else mags[0][None])
            return [est[i] for i in range(n)]

    def _window_fn(self, frame_length, dtype):
        return self._window

    def _stft(self, chunk):
        import tensorflow as tf

        cfg = self.cfg
        stft = tf.signal.stft(
            tf.transpose(chunk), cfg.frame_length, cfg.frame_step,
            window_fn=self._window_fn, pad_end=False,
        )  # fmt: skip
        return tf.transpose(stft, [1, 2, 0])  # (frames, bins, channels)

    def _model_estimates(self, mags):
        """U-Net estimates for the central frames of ``k`` chunks: ``(k, M, F, 2, n_instr)``."""
        import tensorflow as tf

        cfg, plan = self.cfg, self.plan
        ctx, m, n = plan.context_frames, plan.chunk_frames, len(cfg.instruments)
        k = tf.shape(mags)[0]
        central = tf.reshape(mags[:, ctx : ctx + m], [-1, cfg.T, cfg.F, 2])
        est = self.model(central, training=False)
        est = tf.reshape(est, [k, m, cfg.F, 2, n])
        if not plan.overlap:
            return est
        shifted = tf.reshape(mags, [-1, cfg.T, cfg.F, 2])
        est_b = self.model(shifted, training=False)
        est_b = tf.reshape(est_b, [k, m + 2 * ctx, cfg.F, 2, n])[:, ctx : ctx + m]
        return self._weights * est + (1.0 - self._weights) * est_b

    def _masks(self, est):
        import tensorflow as tf

        cfg = self.cfg
        n = len(cfg.instruments)
        powered = tf.pow(est, cfg.separation_exponent)
        total = tf.reduce_sum(powered, axis=-1, keepdims=True)
        masks = (powered + MASK_EPSILON / n) / (total + MASK_EPSILON)  # (M, F, 2, n)
        extra = cfg.n_bins - cfg.F
        if cfg.mask_extension == "average":
            fill = tf.reduce_mean(masks, axis=1, keepdims=True)
            fill = tf.tile(fill, [1, extra, 1, 1])
        else:
            fill = tf.zeros([tf.shape(masks)[0], extra, 2, n], masks.dtype)
        return tf.concat([masks, fill], axis=1)  # (M, bins, 2, n)

    def _istft(self, masked):
        """Inverse STFT of ``(M, bins, 2, n)`` → ``(n, output_length, 2)``."""
        import tensorflow as tf

        cfg = self.cfg
        spec = tf.transpose(masked, [3, 2, 0, 1])  # (n, channels, frames, bins)
        wave = tf.signal.inverse_stft(
            spec, cfg.frame_length, cfg.frame_step, window_fn=self._window_fn
        )
        return tf.transpose(wave, [0, 2, 1]) * WINDOW_COMPENSATION

    def _front_impl(self, chunk):
        """STFT of the chunk and the magnitude of its first ``F`` bins."""
        import tensorflow as tf

        stft = self._stft(chunk)
        return stft, tf.abs(stft)[:, : self.cfg.F, :]

    def _back_impl(self, stft, est):
        """Ratio masks applied to the central frames, then the inverse STFT."""
        import tensorflow as tf

        plan = self.plan
        masks = self._masks(est)
        central = stft[plan.context_frames : plan.context_frames + plan.chunk_frames]
        return self._istft(tf.cast(masks, tf.complex64) * central[..., None])

    def inverse(self, stft_sources: np.ndarray) -> np.ndarray:
        """Inverse STFT of source STFTs ``(M, bins, 2, n)`` (complex) → ``(n, out_len, 2)``."""
        import tensorflow as tf

        return self._istft(tf.constant(stft_sources, dtype=tf.complex64)).numpy()
