"""features.biquads.sosfilt against scipy.signal.sosfilt: the K-weighting sections at every
sample rate stemline meets, short and long signals, mono and stereo, and the error cases."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import scipy.signal

from features import biquads
from features.biquads import BLOCK, sosfilt
from features.loudness import k_weighting_sos

RATES = [8000, 22050, 44100, 48000, 96000, 192000]
LENGTHS = [0, 1, 2, 3, BLOCK - 1, BLOCK, BLOCK + 1, 10 * BLOCK + 7]
#: Largest difference from scipy allowed, relative to the peak of scipy's output: float64
#: rounding in two recursions of the same filter (measured up to about 4e-11, at 192 kHz).
TOLERANCE = 1e-10


def _signals(n: int, sample_rate: int) -> dict[str, np.ndarray]:
    t = np.arange(n) / sample_rate
    impulse = np.zeros(n)
    impulse[: min(n, 1)] = 1.0
    return {
        "noise": np.random.default_rng(n).standard_normal(n),
        "997 Hz sine": 0.5 * np.sin(2 * np.pi * 997 * t),
        "30 Hz sine": 0.5 * np.sin(2 * np.pi * 30 * t + 0.3),
        "impulse": impulse,
        "DC": np.full(n, 0.25),
    }


def _assert_matches_scipy(sos: np.ndarray, x: np.ndarray, label: str) -> None:
    ours = sosfilt(sos, x)
    assert ours.shape == x.shape and ours.dtype == np.float64, label
    if x.shape[-1] == 0:  # scipy.signal.sosfilt does not take empty signals
        return
    theirs = scipy.signal.sosfilt(sos, x, axis=-1)
    peak = np.max(np.abs(theirs))
    assert np.max(np.abs(ours - theirs)) <= TOLERANCE * peak, label


@pytest.mark.parametrize("sample_rate", RATES)
def test_short_signals_match_scipy_mono_and_stereo(sample_rate):
    sos = k_weighting_sos(sample_rate)
    for n in LENGTHS:
        signals = _signals(n, sample_rate)
        noise = signals["noise"]
        for name, mono in signals.items():
            _assert_matches_scipy(sos, mono, f"{name}, {n} samples, mono")
            stereo = np.stack([mono, noise[::-1]])
            _assert_matches_scipy(sos, stereo, f"{name}, {n} samples, stereo")


@pytest.mark.parametrize("sample_rate", RATES)
def test_long_signals_match_scipy_with_poles_near_the_unit_circle(sample_rate):
    # 2 s run as several lanes side by side, each warmed up over the lane before it (at 192 kHz
    # the high-pass poles have radius 0.9988: a state is remembered for about 41000 samples).
    sos = k_weighting_sos(sample_rate)
    n = 2 * sample_rate + 7
    transition = biquads._block_matrices(biquads._validate(sos), BLOCK)[2]
    n_blocks = n // BLOCK + 1
    assert biquads._layout(n_blocks, biquads._memory(transition, n_blocks))[0] > 2  # premise
    signals = _signals(n, sample_rate)
    for name, mono in signals.items():
        _assert_matches_scipy(sos, mono, f"{name}, mono")
    stereo = np.stack([signals["30 Hz sine"] + 0.1 * signals["noise"], signals["DC"]])
    _assert_matches_scipy(sos, stereo, "stereo")


@pytest.mark.parametrize("n", [1, 3 * BLOCK, 44100, 100_003, 250_001])
def test_layouts_and_dtypes_give_the_same_result(n):
    sos = k_weighting_sos(44100)
    interleaved = np.random.default_rng(7).standard_normal((n, 2)).astype(np.float32)
    expected = scipy.signal.sosfilt(sos, interleaved.T, axis=-1)
    peak = np.max(np.abs(expected))
    before = interleaved.copy()
    for x in (interleaved.T, np.ascontiguousarray(interleaved.T, dtype=np.float64)):
        kept = x.copy()
        ours = sosfilt(sos, x)
        assert np.max(np.abs(ours - expected)) <= TOLERANCE * peak
        np.testing.assert_array_equal(x, kept)  # the input is never overwritten
    np.testing.assert_array_equal(interleaved, before)
    listed = sosfilt(sos, interleaved[:, 0].tolist())
    assert np.max(np.abs(listed - expected[0])) <= TOLERANCE * peak


def test_a_one_pole_section_by_hand():
    # y[n] = 0.5 x[n] + 0.5 x[n-1] + 0.5 y[n-1]: 0.5, 0.75, 0.375, 0.1875 for an impulse.
    y = sosfilt([[0.5, 0.5, 0.0, 1.0, -0.5, 0.0]], np.array([1.0, 0.0, 0.0, 0.0]))
    np.testing.assert_allclose(y, [0.5, 0.75, 0.375, 0.1875], rtol=0, atol=1e-15)


def test_non_finite_samples_make_the_rest_of_their_channel_nan():
    sos = k_weighting_sos(48000)
    x = np.random.default_rng(3).standard_normal((2, 30_000))
    x[0, 12_345] = np.nan
    x[1, 20_000] = np.inf
    y = sosfilt(sos, x)
    theirs = scipy.signal.sosfilt(sos, x, axis=-1)
    assert np.isnan(y[0, 12_345:]).all() and np.isnan(y[1, 20_000:]).all()
    for channel, first_bad in ((0, 12_345), (1, 20_000)):
        ours, reference = y[channel, :first_bad], theirs[channel, :first_bad]
        assert np.max(np.abs(ours - reference)) <= TOLERANCE * np.max(np.abs(reference))


@pytest.mark.parametrize(
    ("sos", "message"),
    [
        ([[1.0, 0.0, 0.0, 2.0, 0.0, 0.0]], "a0 == 1"),
        ([[1.0, -2.0, 1.0, 1.0, -2.0, 1.0]], "unstable"),  # a double pole at z = 1
        ([[1.0, 0.0, 0.0, 1.0, 0.0, 1.5]], "unstable"),  # poles of radius 1.22
        ([[1.0, 0.0, 0.0, 1.0, 0.0]], "shape"),
        (np.zeros((0, 6)), "shape"),
        ([[1.0, 0.0, 0.0, 1.0, np.nan, 0.0]], "finite"),
    ],
)
def test_sections_it_cannot_run_are_refused(sos, message):
    with pytest.raises(ValueError, match=message):
        sosfilt(sos, np.ones(10))


@pytest.mark.parametrize("x", [np.ones((2, 2, 10)), np.ones(10, dtype=complex), np.float64(1.0)])
def test_signals_it_cannot_run_are_refused(x):
    with pytest.raises(ValueError, match="1-D or 2-D"):
        sosfilt(k_weighting_sos(44100), x)


def test_importing_the_stem_features_does_not_import_scipy_signal():
    code = "import features.stem, sys; print('scipy.signal' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.splitlines()[-1] == "False"
