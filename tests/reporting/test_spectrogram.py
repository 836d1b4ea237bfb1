"""The dB matrix behind the plots: tones land on their pitch row, time and level are right."""

from __future__ import annotations

import numpy as np
import pytest

from reporting.spectrogram import FLOOR_DB, hz_to_midi, log_spectrogram, midi_to_hz

SR = 44100


def tone(hz: float, seconds: float = 2.0, sr: int = SR, amplitude: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def peak_midi(audio: np.ndarray, sr: int = SR) -> float:
    spec = log_spectrogram(audio, sr)
    return float(spec.midi[spec.power.mean(axis=1).argmax()])


@pytest.mark.parametrize(("hz", "midi"), [(440.0, 69), (261.63, 60), (1760.0, 93), (3520.0, 105)])
def test_tone_peaks_on_its_pitch_row(hz, midi):
    assert peak_midi(tone(hz)) == pytest.approx(midi, abs=1 / 3 + 1e-6)


def test_low_tone_within_a_semitone():
    # below one STFT bin per band the rows interpolate; the peak stays within a semitone
    assert peak_midi(tone(55.0)) == pytest.approx(33, abs=1.0)


def test_tone_at_16k_and_nyquist_cut():
    spec = log_spectrogram(tone(440.0, sr=16000), 16000)
    assert float(spec.midi[spec.power.mean(axis=1).argmax()]) == pytest.approx(69, abs=0.34)
    assert spec.freqs_hz[-1] < 8000.0


def test_columns_capped_and_times_cover_signal():
    audio = tone(440.0, seconds=30.0)
    spec = log_spectrogram(audio, SR, n_columns=900)
    assert spec.power.shape == (spec.midi.size, spec.times_s.size)
    assert spec.times_s.size <= 900
    assert spec.times_s[0] == 0.0
    assert spec.duration_s - spec.times_s[-1] < 30.0 / 899
    assert np.all(np.diff(spec.times_s) > 0)


def test_onset_appears_in_the_right_columns():
    audio = np.concatenate([np.zeros(SR, np.float32), tone(440.0, seconds=1.0)])
    spec = log_spectrogram(audio, SR)
    db = spec.db()
    row = np.argmin(np.abs(spec.midi - 69))
    assert db[row, spec.times_s < 0.9].max() == FLOOR_DB
    assert db[row, (spec.times_s > 1.1) & (spec.times_s < 1.9)].min() > -3.0


def test_db_reference_and_silence():
    loud, quiet = log_spectrogram(tone(440.0), SR), log_spectrogram(tone(440.0, amplitude=0.05), SR)
    ref = float(loud.power.max())
    assert quiet.db(ref).max() == pytest.approx(-20.0, abs=0.1)  # 10x quieter = -20 dB
    assert loud.db().max() == 0.0
    silent = log_spectrogram(np.zeros((SR, 2), np.float32), SR)
    assert np.all(silent.db() == FLOOR_DB)


def test_white_noise_is_flat_across_bands():
    noise = np.random.default_rng(5).standard_normal(SR * 4).astype(np.float32)
    spec = log_spectrogram(noise, SR)
    octaves = spec.power[: spec.midi.size // 36 * 36].reshape(-1, 36, spec.power.shape[1])
    profile = 10 * np.log10(octaves.mean(axis=(1, 2)))
    # bands average (not sum) their bins, so every octave of white noise has the same
    # mean band power; summing would rise 3 dB per octave
    assert np.ptp(profile) < 1.0


def test_midi_hz_conversions():
    assert midi_to_hz(69) == pytest.approx(440.0)
    assert hz_to_midi(880.0) == pytest.approx(81.0)
    assert np.isnan(hz_to_midi(0.0))


def test_bad_input_rejected():
    with pytest.raises(ValueError, match="shape"):
        log_spectrogram(np.zeros((2, 2, 2)), SR)
    with pytest.raises(ValueError, match="positive"):
        log_spectrogram(np.zeros(10), 0)
