"""The basic-pitch network layer by layer: the ONNX model's posteriorgrams, faster on CPUs.

ONNX Runtime's CPU kernels compute convolutions in blocks of 16 channels on AVX-512 machines
(8 on AVX2), and most of basic-pitch's layers are narrow: the 3x39 layer has 8 input and 8
output channels and three layers have a single output channel, so most of what ONNX Runtime
multiplies for them is padding (profiled on the development machine: the 3x39 layer alone is
43 % of the model's time, the one-output layers another 25 %). This module computes the same
function from the weights of the same pinned ``nmp.onnx``
(:func:`features.onnx_proto.read_initializers`) with a method chosen per layer, so that a
stem's windows cost about half as much CPU on one core; the posteriors agree with ONNX
Runtime's to about 1e-3 (float32 rounding through an FFT and other summation orders;
``tests/features/test_basic_pitch_layers.py``). On a GPU the whole published model runs on ONNX
Runtime's CUDA provider instead (:func:`features.basic_pitch_model.basic_pitch_runner`).

The network, as the exported graph computes it for a batch of 43844-sample windows at 22050 Hz:

1. **CQT** (nnAudio's CQT2010v2): nine octaves, highest first. Each octave reflect-pads its
   signal by 128 samples and correlates it with 36 complex 256-tap kernels every
   ``256 / 2**o`` samples (172 frames); the next octave's signal is this one zero-padded by
   127 samples, low-pass filtered by a 256-tap kernel and decimated by 2. The octaves are
   stacked lowest first (324 bins), the 309 highest bins kept, each scaled by its
   ``sqrt(kernel length)`` factor, and the magnitude taken.
2. **Normalised log**: ``10 log10(magnitude**2 + 1e-10)``, minus its minimum over the window,
   divided by its maximum over the window (0 when that is 0); then the batch-norm affine.
3. **Harmonic stacking**: 8 channels, the log-CQT shifted down by ``round(36 log2 h)`` bins for
   ``h = 0.5, 1, 2, ..., 7`` (zeros where the shift runs out), the lowest 264 bins kept.
4. **Convolutions** (time x frequency kernels, "same" zero padding, ReLU or sigmoid):
   contour = sigmoid(conv 8->1 5x5 (relu(conv 8->8 3x39 (stack)))); note = sigmoid(conv 32->1
   7x3 (relu(conv 1->32 7x7 stride 3 (contour)))); onset = sigmoid(conv 33->1 3x3 ([note,
   relu(conv 8->32 5x5 stride 3 (stack))])).

Layer methods: the CQT is a matrix product over strided frames and the decimation filter an FFT
convolution; the 3x39 layer is a product in the frequency domain (FFT along frequency: 24
complex multiplications per output instead of 936 real ones); the one-output layers multiply
all kernel taps at once and add the shifted products; the two 32-output stride-3 layers, which
ONNX Runtime's direct convolution computes near the machine's peak, run as one-layer ONNX
models (:func:`features.onnx_proto.conv_model`) on one thread.

:class:`LayeredBasicPitch` has the ``run(output_names, {input_name: batch})`` method of an ONNX
Runtime session, so :func:`features.basic_pitch_inference.infer_posteriors` drives either.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import scipy.fft

from features.basic_pitch_model import (
    INPUT_NAME,
    N_CONTOUR_BINS,
    OUTPUT_NAMES,
    WINDOW_FRAMES,
    WINDOW_SAMPLES,
)
from features.onnx_proto import conv_model, read_initializers

N_OCTAVES = 9
BINS_PER_OCTAVE = 36
KERNEL_TAPS = 256
N_CQT_BINS = 309
HARMONIC_SHIFTS = (-36, 0, 36, 57, 72, 84, 93, 101)
LOG_EPSILON = np.float32(1e-10)
#: ``10 / ln 10`` as the graph multiplies it (``log(x) * 0.4342944622039795 * 10``).
LOG10_SCALE = (np.float32(0.4342944622039795), np.float32(10.0))
#: FFT length along frequency for the 3x39 layer (>= 264 + 39 - 1).
FREQUENCY_FFT = 320

_NORM = "model_1/batch_normalization/FusedBatchNormV3"
#: Weight name (or unique prefix ending in ``;``) in ``nmp.onnx`` and its shape, by role.
WEIGHTS = {
    "cqt_real": ("const_fold_opt__655", (36, 1, 1, 256)),
    "cqt_imag": ("const_fold_opt__664", (36, 1, 1, 256)),
    "cqt_bias": ("model_1/cq_t2010v2_1/conv1d_25;", (36,)),
    "lowpass": ("const_fold_opt__734", (1, 1, 1, 256)),
    "cqt_scale": ("model_1/cq_t2010v2_1/Sqrt;", (309, 1, 1)),
    "norm_scale": (f"{_NORM};{_NORM}", (1,)),
    "norm_shift": (f"{_NORM};{_NORM}1", (1,)),
    "pitch_w": ("const_fold_opt__727", (8, 8, 3, 39)),
    "pitch_b": ("model_1/re_lu_1/Relu;", (8,)),
    "contour_w": ("const_fold_opt__710", (1, 8, 5, 5)),
    "contour_b": ("model_1/contours-reduced/BiasAdd/ReadVariableOp;", (1,)),
    "note1_w": ("const_fold_opt__738", (32, 1, 7, 7)),
    "note1_b": ("model_1/conv2d_2/BiasAdd/ReadVariableOp;", (32,)),
    "note2_w": ("const_fold_opt__702", (1, 32, 7, 3)),
    "note2_b": ("model_1/conv2d_3/BiasAdd/ReadVariableOp;", (1,)),
    "onset1_w": ("const_fold_opt__707", (32, 8, 5, 5)),
    "onset1_b": ("model_1/re_lu_3/Relu;", (32,)),
    "onset2_w": ("const_fold_opt__680", (1, 33, 3, 3)),
    "onset2_b": ("model_1/conv2d_5/BiasAdd/ReadVariableOp;", (1,)),
}


def load_weights(tensors: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The network's weights by role from the initializers of ``nmp.onnx``.

    Raises
    ------
    ValueError
        If a weight is missing, ambiguous or has another shape (another model file).
    """
    weights = {}
    for role, (name, shape) in WEIGHTS.items():
        found = [k for k in tensors if k == name or (name.endswith(";") and k.startswith(name))]
        found = [k for k in found if tensors[k].shape == shape]
        if len(found) != 1:
            raise ValueError(f"basic-pitch weights: {role} ({name}, {shape}) matches {found}")
        weights[role] = np.ascontiguousarray(tensors[found[0]], dtype=np.float32)
    return weights


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


class LayeredBasicPitch:
    """basic-pitch's posteriorgrams in numpy, with the interface of an ONNX Runtime session.

    Parameters
    ----------
    weights : dict[str, numpy.ndarray]
        From :func:`load_weights`.
    """

    def __init__(self, weights: dict[str, np.ndarray]) -> None:
        w = weights
        self._cqt_kernels = np.concatenate([w["cqt_real"][:, 0, 0], w["cqt_imag"][:, 0, 0]]).T
        self._cqt_bias = np.concatenate([w["cqt_bias"], w["cqt_bias"]])
        self._lowpass_spectra: dict[int, np.ndarray] = {}
        self._lowpass = w["lowpass"][0, 0, 0]
        self._cqt_scale = w["cqt_scale"][:, 0, 0]
        self._norm = (w["norm_scale"][0], w["norm_shift"][0])
        # 3x39 layer: kernels reversed along frequency (convolution) and transformed, as
        # (FFT bin, out, time tap and in) for the batched products.
        spectra = scipy.fft.rfft(w["pitch_w"][..., ::-1], FREQUENCY_FFT, axis=-1)
        self._pitch_w = spectra.transpose(3, 0, 2, 1).reshape(-1, 8, 24).astype(np.complex64)
        self._pitch_b = w["pitch_b"]
        self._contour = (w["contour_w"][0].transpose(1, 2, 0).reshape(25, 8), w["contour_b"])
        self._note2 = (w["note2_w"][0].transpose(1, 2, 0).reshape(21, 32), w["note2_b"])
        self._onset2 = (w["onset2_w"][0].transpose(1, 2, 0).reshape(9, 33), w["onset2_b"])
        self._note1 = _layer_session(w["note1_w"], w["note1_b"], (3, 2, 3, 2), (1, 3))
        self._onset1 = _layer_session(w["onset1_w"], w["onset1_b"], (2, 1, 2, 1), (1, 3))

    @classmethod
    def from_file(cls, path: Path) -> LayeredBasicPitch:
        """The network of the (verified) ``nmp.onnx`` at ``path``."""
        return cls(load_weights(read_initializers(path)))

    def run(self, output_names: list[str], feed: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Posteriorgrams named as the ONNX model names them, like ``InferenceSession.run``.

        ``feed`` holds one ``(batch, 43844, 1)`` float32 array under the model's input name.
        """
        audio = np.asarray(feed[INPUT_NAME], dtype=np.float32)
        if audio.ndim != 3 or audio.shape[1:] != (WINDOW_SAMPLES, 1):
            raise ValueError(f"expected (batch, {WINDOW_SAMPLES}, 1) audio, got {audio.shape}")
        onset, note, contour = self.posteriorgrams(audio[:, :, 0])
        by_name = {
            OUTPUT_NAMES["onset"]: onset,
            OUTPUT_NAMES["note"]: note,
            OUTPUT_NAMES["contour"]: contour,
        }
        return [by_name[name] for name in output_names]

    def posteriorgrams(self, audio: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Onset ``(B, 172, 88)``, note ``(B, 172, 88)`` and contour ``(B, 172, 264)``
        probabilities of ``(B, 43844)`` windows."""
        log_cqt = self._normalised_log(self._cqt(audio))
        by_freq, stack = _harmonic_stacks(log_cqt)
        contour = self._contour_layer(by_freq)  # (B, T, 264)
        (note_hidden,) = self._note1.run(None, {"x": contour[:, None]})
        note = _sigmoid(_conv_one_output(note_hidden, *self._note2, (7, 3)))
        (onset_hidden,) = self._onset1.run(None, {"x": stack})
        onset_input = np.concatenate([note[:, None], onset_hidden], axis=1)
        onset = _sigmoid(_conv_one_output(onset_input, *self._onset2, (3, 3)))
        return onset, note, contour

    def _cqt(self, audio: np.ndarray) -> np.ndarray:
        """Step 1 of the module doc: ``(B, 172, 309)`` CQT magnitudes."""
        octaves = []
        signal = audio
        for octave in range(N_OCTAVES):
            hop = KERNEL_TAPS >> octave
            padded = np.pad(signal, ((0, 0), (128, 128)), mode="reflect")
            frames = np.lib.stride_tricks.sliding_window_view(padded, KERNEL_TAPS, axis=1)
            frames = frames[:, ::hop][:, :WINDOW_FRAMES]
            octaves.append(frames @ self._cqt_kernels + self._cqt_bias)
            if octave < N_OCTAVES - 1:
                signal = self._decimate(signal)
        stacked = np.concatenate(octaves[::-1], axis=2)  # (B, T, octave, real 36 + imag 36)
        stacked = stacked.reshape(audio.shape[0], WINDOW_FRAMES, N_OCTAVES, 2, BINS_PER_OCTAVE)
        real = stacked[:, :, :, 0].reshape(audio.shape[0], WINDOW_FRAMES, -1)[..., -N_CQT_BINS:]
        imag = stacked[:, :, :, 1].reshape(audio.shape[0], WINDOW_FRAMES, -1)[..., -N_CQT_BINS:]
        real, imag = real * self._cqt_scale, imag * self._cqt_scale
        return np.sqrt(real * real + imag * imag)

    def _decimate(self, signal: np.ndarray) -> np.ndarray:
        """Zero-pad by 127, correlate with the 256-tap low-pass filter, keep every 2nd sample."""
        padded_length = signal.shape[1] + 2 * 127
        n_out = padded_length - KERNEL_TAPS + 1
        size = scipy.fft.next_fast_len(padded_length + KERNEL_TAPS - 1, real=True)
        if size not in self._lowpass_spectra:
            self._lowpass_spectra[size] = scipy.fft.rfft(self._lowpass[::-1], size)
        spectrum = scipy.fft.rfft(signal, size, axis=1) * self._lowpass_spectra[size]
        # Correlation output j starts at padded sample j = signal sample j - 127.
        full = scipy.fft.irfft(spectrum, size, axis=1)
        first = KERNEL_TAPS - 1 - 127
        return np.ascontiguousarray(full[:, first : first + n_out : 2], dtype=np.float32)

    def _normalised_log(self, magnitude: np.ndarray) -> np.ndarray:
        """Step 2 of the module doc."""
        log_power = np.log(magnitude * magnitude + LOG_EPSILON) * LOG10_SCALE[0] * LOG10_SCALE[1]
        log_power -= log_power.min(axis=(1, 2), keepdims=True)
        top = log_power.max(axis=(1, 2), keepdims=True)
        scaled = np.divide(log_power, top, out=np.zeros_like(log_power), where=top != 0)
        return scaled * self._norm[0] + self._norm[1]

    def _contour_layer(self, by_freq: np.ndarray) -> np.ndarray:
        """relu(3x39 conv) by FFT along frequency, then the 5x5 one-output conv; sigmoid.

        ``by_freq`` is the harmonic stack as ``(F, C, B, T + 2)``, time zero-padded by one
        frame each side for the 3 time taps.
        """
        bins, channels, batch, padded_frames = by_freq.shape
        frames = padded_frames - 2
        spectra = scipy.fft.rfft(by_freq, FREQUENCY_FFT, axis=0)
        # The three time taps side by side, (FFT bin, tap and channel, batch and frame): one
        # product per FFT bin sums over taps and channels at once.
        taps = np.concatenate([spectra[..., tap : tap + frames] for tap in range(3)], axis=1)
        total = self._pitch_w @ taps.reshape(spectra.shape[0], 3 * channels, batch * frames)
        full = scipy.fft.irfft(total, FREQUENCY_FFT, axis=0).reshape(-1, channels, batch, frames)
        # Convolution output f + 19 is correlation output f with the kernel centred (19 = 39 // 2);
        # bias and ReLU go in place into the zero-padded (B, C, T, F) input of the 5x5 layer.
        padded = np.zeros((batch, channels, frames + 4, bins + 4), np.float32)
        hidden = padded[:, :, 2:-2, 2:-2]
        np.add(full[19 : 19 + bins].transpose(2, 1, 3, 0), self._pitch_b[:, None, None], hidden)
        np.maximum(hidden, np.float32(0.0), out=hidden)
        return _sigmoid(_conv_padded_one_output(padded, *self._contour, (5, 5)))


def _layer_session(
    weight: np.ndarray, bias: np.ndarray, pads: tuple[int, ...], strides: tuple[int, int]
) -> object:
    """A one-thread CPU ONNX Runtime session of relu(conv) with these weights."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    model = conv_model(weight, bias, pads, strides, relu=True)
    return ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])


def _harmonic_stacks(log_cqt: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Step 3 of the module doc, in the two layouts the next layers read: ``(F, C, B, T + 2)``
    (frequency first, time zero-padded by one frame each side) and ``(B, C, T, F)``."""
    batch, frames, bins = log_cqt.shape
    channels = len(HARMONIC_SHIFTS)
    by_freq = np.zeros((N_CONTOUR_BINS, channels, batch, frames + 2), dtype=np.float32)
    stack = np.zeros((batch, channels, frames, N_CONTOUR_BINS), dtype=np.float32)
    freq_first = log_cqt.transpose(2, 0, 1)
    for channel, shift in enumerate(HARMONIC_SHIFTS):
        lo = max(0, -shift)
        hi = min(N_CONTOUR_BINS, bins - shift)
        by_freq[lo:hi, channel, :, 1:-1] = freq_first[lo + shift : hi + shift]
        stack[:, channel, :, lo:hi] = log_cqt[:, :, lo + shift : hi + shift]
    return by_freq, stack


def _conv_one_output(
    x: np.ndarray, weights: np.ndarray, bias: np.ndarray, kernel: tuple[int, int]
) -> np.ndarray:
    """A stride-1 "same" convolution with one output channel (no activation).

    ``x`` is ``(B, C, T, F)``, ``weights`` ``(kt * kf, C)`` ordered (time tap, frequency tap).
    Every tap's channel sum is one matrix product; the output adds the taps' products shifted
    into place. Returns ``(B, T, F)``.
    """
    (batch, channels, frames, bins), (kt, kf) = x.shape, kernel
    padded = np.zeros((batch, channels, frames + kt - 1, bins + kf - 1), np.float32)
    padded[:, :, kt // 2 : kt // 2 + frames, kf // 2 : kf // 2 + bins] = x
    return _conv_padded_one_output(padded, weights, bias, kernel)


def _conv_padded_one_output(
    padded: np.ndarray, weights: np.ndarray, bias: np.ndarray, kernel: tuple[int, int]
) -> np.ndarray:
    """:func:`_conv_one_output` of an input already zero-padded (``kernel - 1`` frames and bins,
    half before, half after): ``(B, C, T + kt - 1, F + kf - 1)`` to ``(B, T, F)``."""
    (kt, kf), (batch, channels, padded_frames, padded_bins) = kernel, padded.shape
    frames, bins = padded_frames - kt + 1, padded_bins - kf + 1
    taps = np.matmul(weights, padded.reshape(batch, channels, -1))
    taps = taps.reshape(batch, kt * kf, frames + kt - 1, bins + kf - 1)
    out = np.full((batch, frames, bins), bias[0], dtype=np.float32)
    for a in range(kt):
        for d in range(kf):
            out += taps[:, a * kf + d, a : a + frames, d : d + bins]
    return out
