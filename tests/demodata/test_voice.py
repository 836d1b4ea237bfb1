"""The demo's singing voice: its f0 annotation is the f0 heard, its parts do what they model."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import signal

from demodata.contour import LEGATO_GAP_S, pitch_contour, slurred
from demodata.equalizer import lead_vocal_eq
from demodata.glottis import flow_derivative
from demodata.phonemes import VOWELS, tract_filter, tract_gain
from demodata.score import Note
from demodata.voice import MAX_LEAD_S, RING_S, VOICE_RMS, render_vocals

SR = 44100
NOTES = [
    Note(0.2, 2.2, 60, 0.9),  # long: vibrato has time to develop
    Note(2.28, 3.3, 64, 1.0),  # legato after the first (80 ms gap)
    Note(4.2, 4.5, 57, 0.8),  # after a rest, short
]


@pytest.fixture(scope="module")
def line():
    return render_vocals(NOTES, SR, round(5.0 * SR), np.random.default_rng(3))


def _cents(hz, ref_hz):
    return 1200 * np.log2(hz / ref_hz)


def _autocorrelation_f0(frame: np.ndarray, low_hz: float, high_hz: float) -> float:
    """f0 of a frame from its normalised autocorrelation peak, parabolically interpolated."""
    frame = frame - frame.mean()
    n = frame.size
    spectrum = np.fft.rfft(frame, 2 * n)
    acf = np.fft.irfft(np.abs(spectrum) ** 2)[:n]
    acf /= np.arange(n, 0, -1)  # unbiased: every lag weighs the same
    lo, hi = int(SR / high_hz), int(SR / low_hz) + 1
    k = lo + int(np.argmax(acf[lo:hi]))
    a, b, c = acf[k - 1], acf[k], acf[k + 1]
    return SR / (k + 0.5 * (a - c) / (a - 2 * b + c))


def test_f0_annotation_is_the_f0_heard(line):
    """Autocorrelation of 40 ms windows of sustained singing agrees with the mean annotated f0
    over the window within a few cents (vibrato and jitter included)."""
    audio, f0 = line
    n = round(0.04 * SR)
    errors = []
    for note in NOTES:
        for start in range(
            round((note.onset_s + 0.12) * SR), round((note.offset_s - 0.1) * SR) - n, n // 2
        ):
            truth = f0[start : start + n].mean()
            estimate = _autocorrelation_f0(audio[start : start + n], 0.8 * truth, 1.25 * truth)
            errors.append(_cents(estimate, truth))
    errors = np.abs(errors)
    assert len(errors) > 80
    assert np.median(errors) < 3.0
    assert np.percentile(errors, 95) < 8.0


def test_voicing_is_exactly_the_notes(line):
    audio, f0 = line
    expected = np.zeros(f0.size, dtype=bool)
    for note in NOTES:
        expected[round(note.onset_s * SR) : round(note.offset_s * SR)] = True
    np.testing.assert_array_equal(f0 > 0, expected)
    rms = [
        np.sqrt(np.mean(audio[round(n.onset_s * SR) : round(n.offset_s * SR)] ** 2)) for n in NOTES
    ]
    velocity_rms = np.sqrt(np.mean([n.velocity**2 for n in NOTES]))
    assert 0.6 * VOICE_RMS * velocity_rms < np.sqrt(np.mean(np.square(rms))) < 1.5 * VOICE_RMS
    # sound only around the notes: consonants just before, ringing just after, nothing later
    after_last = round((NOTES[-1].offset_s + RING_S + 0.05) * SR)
    assert np.max(np.abs(audio[after_last:])) < 1e-6 * np.max(np.abs(audio))


def test_vibrato_develops_on_long_notes(line):
    """On the 2 s note: 5-6 Hz modulation of 30-60 cents peak deviation, none at the start."""
    _, f0 = line
    note = NOTES[0]
    cents = _cents(f0[round(note.onset_s * SR) : round(note.offset_s * SR)], 261.6256)
    steady = cents[round(0.7 * SR) : round(1.9 * SR)]
    steady = signal.decimate(steady - steady.mean(), 100)  # 441 Hz rate
    spectrum = np.abs(np.fft.rfft(steady * np.hanning(steady.size), 8 * steady.size))
    peak_hz = np.argmax(spectrum) * 441 / (8 * steady.size)
    assert 4.7 < peak_hz < 6.3
    assert 25 < np.percentile(np.abs(steady), 99) < 75
    before_vibrato = cents[round(0.09 * SR) : round(0.14 * SR)]  # after the scoop, before 0.15 s
    assert np.std(before_vibrato) < 0.5 * np.std(steady)


def test_slurred_note_glides_from_the_previous_pitch():
    first, second, third = NOTES
    assert second.onset_s - first.offset_s < LEGATO_GAP_S < third.onset_s - second.offset_s
    assert slurred(first, second, voiced_onset=True)
    assert not slurred(first, second, voiced_onset=False)  # an unvoiced consonant between
    assert not slurred(second, third, voiced_onset=True)  # a rest between
    m = round((second.offset_s - second.onset_s) * SR)
    f0 = pitch_contour(second, first.midi_pitch, m, SR, np.random.default_rng(0), 5.5, 40.0)
    assert abs(_cents(f0[0], 261.6256)) < 12  # starts at C4 (drift only) ...
    assert abs(_cents(np.median(f0[round(0.1 * SR) :]), 329.6276)) < 10  # ... and sings E4
    assert np.all(np.diff(f0[: round(0.05 * SR)]) > 0)  # rising all through the glide


def test_fresh_attack_starts_near_the_pitch():
    note = NOTES[2]
    m = round((note.offset_s - note.onset_s) * SR)
    for seed in range(10):
        f0 = pitch_contour(note, None, m, SR, np.random.default_rng(seed), 5.5, 40.0)
        assert -80 < _cents(f0[0], 220.0) < 25  # a scoop from below or a near start
        assert abs(_cents(np.median(f0), 220.0)) < 10


def test_consonants_stay_within_the_lead_time(line):
    audio, _ = line
    for previous, note in itertools.pairwise(NOTES):
        gap = audio[
            round((previous.offset_s + RING_S + 0.02) * SR) : round(
                (note.onset_s - MAX_LEAD_S) * SR
            )
        ]
        if gap.size:
            assert np.sqrt(np.mean(gap**2)) < 0.1 * VOICE_RMS  # breath at most


def test_same_seed_same_line_other_seed_other_line(line):
    audio, f0 = line
    again, f0_again = render_vocals(NOTES, SR, round(5.0 * SR), np.random.default_rng(3))
    np.testing.assert_array_equal(audio, again)
    np.testing.assert_array_equal(f0, f0_again)
    other, _ = render_vocals(NOTES, SR, round(5.0 * SR), np.random.default_rng(4))
    assert not np.allclose(audio, other)


def test_no_notes_render_silence():
    audio, f0 = render_vocals([], SR, 1000, np.random.default_rng(0))
    assert not audio.any() and not f0.any()


def test_glottal_pulse_has_no_net_flow_and_closes_at_te():
    x = np.arange(20000) / 20000
    wave = flow_derivative(x, te=0.6, tp=0.4, ta=np.full(x.size, 0.02))
    assert abs(wave.mean()) < 1e-3
    assert wave.argmin() == 12000 and wave.min() == pytest.approx(-1.0)


@pytest.mark.parametrize("vowel", ["a", "i", "u"])
def test_tract_filter_peaks_at_the_formants(vowel):
    fir = tract_filter(VOWELS[vowel], SR)
    freqs, response = signal.freqz(fir, worN=8192, fs=SR)
    gain = np.abs(response)
    np.testing.assert_allclose(gain, tract_gain(VOWELS[vowel], freqs), rtol=0.05)
    assert gain[0] == pytest.approx(1.0, rel=0.02)
    for formant, _ in VOWELS[vowel][:2]:
        near = (freqs > 0.85 * formant) & (freqs < 1.15 * formant)
        assert gain[near].max() > 3.0  # a resonance at least 10 dB above the 0 Hz level
    energy = np.cumsum(fir**2) / np.sum(fir**2)
    assert energy[round(0.01 * SR)] > 0.9  # minimum phase: the response starts at once


def test_lead_vocal_eq_cuts_rumble_and_lifts_presence():
    _, response = signal.sosfreqz(
        lead_vocal_eq(SR), worN=[30.0, 90.0, 1000.0, 3500.0, 15000.0], fs=SR
    )
    db = 20 * np.log10(np.abs(response))
    assert db[0] < -15 and db[1] == pytest.approx(-3.0, abs=0.5)
    assert abs(db[2]) < 0.6 and 2.5 < db[3] < 4.0 and 2.5 < db[4] < 4.0
