"""Mono 16 kHz FLAC: rate, length, channels, bit depth and content (440 Hz stays 440 Hz)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from tests.transcription.conftest import DURATION_S, SAMPLE_RATE
from transcription.mono_audio import mono_downmix, resampled_mono, write_mono_flac


def peak_frequency_hz(signal: np.ndarray, sample_rate: int) -> float:
    """Frequency of the largest bin of a Hann-windowed FFT, with 1 Hz resolution or finer."""
    spectrum = np.abs(
        np.fft.rfft(signal * np.hanning(signal.size), n=max(signal.size, sample_rate))
    )
    return float(np.argmax(spectrum) * sample_rate / max(signal.size, sample_rate))


@pytest.mark.parametrize("target_rate", [16000, 22050])
def test_flac_rate_length_channels_and_pitch(tmp_path, stereo_tone, target_rate):
    path = tmp_path / "vocals.flac"
    n = write_mono_flac(path, stereo_tone, SAMPLE_RATE, target_rate)
    info = sf.info(path)
    assert (info.samplerate, info.channels, info.format, info.subtype) == (
        target_rate,
        1,
        "FLAC",
        "PCM_16",
    )
    assert n == info.frames == round(DURATION_S * target_rate)
    audio, rate = sf.read(path, dtype="float32")
    assert audio.ndim == 1 and rate == target_rate
    assert peak_frequency_hz(audio, rate) == pytest.approx(440.0, abs=1.0)
    middle = audio[rate // 4 : -rate // 4]  # away from resampler edges
    assert np.sqrt(np.mean(middle**2)) == pytest.approx(0.5 / np.sqrt(2), rel=0.02)


def test_downmix_is_channel_mean():
    stereo = np.array([[1.0, 0.0], [0.5, -0.5], [0.2, 0.4]], dtype=np.float32)
    np.testing.assert_allclose(mono_downmix(stereo), [0.5, 0.0, 0.3], rtol=1e-6)
    np.testing.assert_array_equal(mono_downmix(stereo[:, 0]), stereo[:, 0])


def test_same_rate_is_untouched_and_empty_is_empty():
    x = np.linspace(-1, 1, 100, dtype=np.float32)
    np.testing.assert_array_equal(resampled_mono(x, 16000, 16000), x)
    assert resampled_mono(np.zeros((0, 2), np.float32), 44100, 16000).size == 0


def test_over_full_scale_is_clipped(tmp_path):
    loud = np.full((16000, 2), 1.7, dtype=np.float32)
    write_mono_flac(tmp_path / "loud.flac", loud, 16000, 16000)
    audio, _ = sf.read(tmp_path / "loud.flac", dtype="float32")
    assert audio.max() <= 1.0 and audio.min() >= 0.99


def test_bad_audio_rejected(tmp_path):
    with pytest.raises(ValueError, match="NaN"):
        resampled_mono(np.array([0.0, np.nan]), 16000, 8000)
    with pytest.raises(ValueError, match="shape"):
        mono_downmix(np.zeros((2, 2, 2)))
    with pytest.raises(ValueError, match="positive"):
        resampled_mono(np.zeros(4), 0, 16000)
