"""Integrated loudness (BS.1770 / EBU R128) on signals with known answers."""

from __future__ import annotations

import essentia.standard as es
import numpy as np
import pytest

from features.loudness import block_powers, integrated_loudness, k_weighting_sos


def _sine(amplitude: float, seconds: float, sample_rate: int, hz: float = 997.0) -> np.ndarray:
    t = np.arange(round(seconds * sample_rate)) / sample_rate
    return amplitude * np.sin(2 * np.pi * hz * t)


def test_k_weighting_at_48k_is_the_published_filter():
    published = [
        [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241,
         0.73248077421585],
        [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621],
    ]  # fmt: skip
    np.testing.assert_allclose(k_weighting_sos(48000), published, atol=1e-8)


@pytest.mark.parametrize("sample_rate", [44100, 48000, 22050])
def test_a_997_hz_sine_in_both_channels_reads_its_level(sample_rate):
    # BS.1770: a 0 dBFS 997 Hz sine in one channel is -3.01 LUFS, so in two channels 0.
    tone = _sine(0.1, 3.0, sample_rate)
    stereo = np.stack([tone, tone], axis=1)
    assert integrated_loudness(stereo, sample_rate) == pytest.approx(-20.0, abs=0.05)
    assert integrated_loudness(tone, sample_rate) == pytest.approx(-23.01, abs=0.05)


def test_gates_drop_silence_and_quiet_passages():
    loud = _sine(0.1, 4.0, 44100)  # -20 LUFS
    stereo = lambda x: np.stack([x, x], axis=1)  # noqa: E731
    # Followed by 4 s at -80 LUFS (absolute gate) or at -35 LUFS (relative gate, -10 LU): the
    # quiet half is dropped; only the few blocks that straddle the change lower the result
    # (an ungated mean would read -23 LUFS).
    for level_db in (-60.0, -15.0):
        quiet = _sine(0.1 * 10 ** (level_db / 20), 4.0, 44100)
        both = integrated_loudness(stereo(np.concatenate([loud, quiet])), 44100)
        assert -20.3 < both < -20.0, level_db
    assert integrated_loudness(np.zeros((44100, 2)), 44100) == -70.0


def test_blocks_are_400_ms_every_100_ms_until_the_end():
    assert block_powers(np.ones(17640), 44100).size == 1  # exactly one block
    assert block_powers(np.ones(17641), 44100).size == 2  # the last one zero-padded
    assert block_powers(np.ones(4410 * 10), 44100).size == 7
    assert block_powers(np.ones(100), 44100).size == 1


def test_agrees_with_essentia_within_a_tenth_of_a_loudness_unit():
    rng = np.random.default_rng(2)
    t = np.arange(5 * 44100) / 44100
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 0.3 * t)
    music = sum(np.sin(2 * np.pi * f * t) / k for k, f in enumerate((220, 330, 550, 880), 1))
    left = 0.1 * envelope * music + 0.01 * rng.standard_normal(t.size)
    stereo = np.stack([left, 0.8 * left], axis=1).astype(np.float32)
    expected = es.LoudnessEBUR128(sampleRate=44100)(stereo)[2]
    assert integrated_loudness(stereo, 44100) == pytest.approx(expected, abs=0.1)
