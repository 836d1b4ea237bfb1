"""Polyphonic notes with the real basic-pitch model on seeded synthetic audio with known notes."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from features import FeatureSettings, extract_stem_features, extract_track_features
from features.basic_pitch_inference import infer_posteriors
from features.basic_pitch_model import HOP, SAMPLE_RATE, basic_pitch_session
from features.basic_pitch_notes import basic_pitch_notes, track_notes
from features.grid import FrameGrid
from features.level import frame_rms_dbfs
from features.settings import StemProfile
from tests.features.synthetic_signals import SR, harmonic_tone, midi_hz

#: Intervals (semitones, rounded) of partials 2 to 6 above their fundamental.
PARTIAL_INTERVALS = {12, 19, 24, 28, 31}


@pytest.fixture(scope="session")
def session():
    """The real model, from the model cache (``stemline models fetch basic-pitch``)."""
    return basic_pitch_session()


def _tone(midi: int, duration_s: float, amplitude: float, partials=(1.0,), sr: int = SR):
    """A tone with 10 ms fade-in and fade-out, peak ``amplitude``."""
    t = np.arange(int(duration_s * sr)) / sr
    x = sum(a * np.sin(2 * np.pi * (k + 1) * midi_hz(midi) * t) for k, a in enumerate(partials))
    ramp = np.minimum(1.0, np.minimum(t, duration_s - t) / 0.01)
    return (amplitude * x * ramp / np.max(np.abs(x))).astype(np.float32)


def _place(parts, total_s: float, sr: int = SR) -> np.ndarray:
    x = np.zeros(int(total_s * sr), dtype=np.float32)
    for onset_s, tone in parts:
        start = round(onset_s * sr)
        x[start : start + tone.size] += tone
    return x


def _no_overlap_per_pitch(notes) -> None:
    """No two notes of one pitch overlap in time (nothing is duplicated)."""
    for (pitch,), group in notes.group_by(["midi_pitch"]):
        on, off = group["onset_s"].to_numpy(), group["offset_s"].to_numpy()
        assert np.all(on[1:] >= off[:-1]), f"overlapping notes at MIDI {pitch}"


def test_c_major_triad_gives_c_e_g(session):
    harmonics = tuple(1 / k for k in range(1, 7))
    chord = sum(_tone(m, 1.5, 0.2, harmonics) for m in (60, 64, 67))
    notes = extract_stem_features(_place([(0.5, chord)], 3.0), SR, "piano").notes
    assert set(notes["method"]) == {"basic_pitch"}
    chord_notes = notes.filter(notes["midi_pitch"].is_in([60, 64, 67]))
    assert chord_notes["midi_pitch"].sort().to_list() == [60, 64, 67]
    np.testing.assert_allclose(chord_notes["onset_s"], 0.5, atol=0.05)
    np.testing.assert_allclose(chord_notes["offset_s"], 2.0, atol=0.05)
    exact = 440.0 * 2.0 ** ((chord_notes["midi_pitch"].to_numpy() - 69) / 12)
    assert np.all(np.abs(1200 * np.log2(chord_notes["f0_mean_hz"].to_numpy() / exact)) < 15)
    # Anything else is an upper partial of a chord tone, at well under half their velocity.
    quietest = chord_notes["velocity"].min()
    for row in notes.filter(~notes["midi_pitch"].is_in([60, 64, 67])).iter_rows(named=True):
        assert {row["midi_pitch"] - m for m in (60, 64, 67)} & PARTIAL_INTERVALS, row
        assert row["velocity"] < 0.6 * quietest, row
    _no_overlap_per_pitch(notes)


@pytest.mark.parametrize("midi", [40, 57, 69, 84])
def test_a_sine_gives_its_one_pitch(session, midi):
    notes = extract_stem_features(_place([(0.4, _tone(midi, 1.0, 0.3))], 2.0), SR, "other").notes
    assert notes["midi_pitch"].to_list() == [midi]
    assert notes["onset_s"][0] == pytest.approx(0.4, abs=0.05)
    assert notes["offset_s"][0] == pytest.approx(1.4, abs=0.05)
    assert notes["f0_mean_hz"][0] == pytest.approx(midi_hz(midi), rel=0.006)  # 10 cents
    assert 1 <= notes["velocity"][0] <= 127


@pytest.mark.parametrize("cents", [30, -40])
def test_a_mistuned_tone_keeps_its_bend(session, cents):
    t = np.arange(2 * SR) / SR
    f0 = 440.0 * 2 ** (cents / 1200)
    x = 0.3 * np.sin(2 * np.pi * f0 * t) * ((t > 0.3) & (t < 1.5))
    notes = extract_stem_features(x.astype(np.float32), SR, "other").notes
    assert notes["midi_pitch"].to_list() == [69]
    measured = 1200 * np.log2(notes["f0_mean_hz"][0] / 440.0)
    assert measured == pytest.approx(cents, abs=10)


def test_silence_and_faint_noise_give_no_notes(session, rng):
    silence = np.zeros(3 * SR, dtype=np.float32)
    noise = (1e-4 * rng.standard_normal(3 * SR)).astype(np.float32)  # -80 dBFS
    grid = FrameGrid.for_samples(silence.size)
    for x in (silence, noise):
        rms = frame_rms_dbfs(x, grid)
        assert basic_pitch_notes(x, grid, rms, -80.0, StemProfile(), -50.0).height == 0
    # The network normalises every window, so without the level gate the noise reads as notes.
    ungated = StemProfile(note_gate_db=200.0)
    rms = frame_rms_dbfs(noise, grid)
    assert basic_pitch_notes(noise, grid, rms, -80.0, ungated, -200.0).height > 0
    # A tone in the same noise: the tone only.
    mixed = _place([(0.5, _tone(69, 1.0, 0.3))], 3.0) + noise
    notes = extract_stem_features(mixed, SR, "other").notes
    assert notes["midi_pitch"].to_list() == [69]
    assert extract_stem_features(silence, SR, "other").notes.height == 0


def _melody(seed: int, duration_s: float):
    """Seeded notes and dyads, some crossing every window seam; returns (audio, notes)."""
    rng = np.random.default_rng(seed)
    truth, t = [], 0.3
    while t < duration_s - 2.0:
        length, pitch = rng.uniform(0.3, 1.2), int(rng.integers(48, 80))
        truth.append((t, t + length, pitch))
        if rng.random() < 0.4:
            truth.append((t, t + length, pitch + int(rng.choice([3, 4, 7]))))
        t += length + rng.uniform(0.05, 0.3)
    parts = [
        (on, _tone(p, off - on, 0.2, (1.0, 0.4, 0.15), sr=SAMPLE_RATE)) for on, off, p in truth
    ]
    return _place(parts, duration_s, sr=SAMPLE_RATE), sorted(truth, key=lambda n: (n[0], n[2]))


def _transcribe(x, session, margin_frames, shift_s=0.0):
    post = infer_posteriors(x, session, margin_frames=margin_frames)
    frame_s = HOP / SAMPLE_RATE
    notes = []
    for start, end, p in track_notes(post.onset, post.note, StemProfile()):
        velocity = 127 * float(post.note[start:end, p].mean())
        notes.append((start * frame_s - shift_s, (end - 1) * frame_s - shift_s, p + 21, velocity))
    return notes


def test_notes_do_not_depend_on_where_the_window_seams_fall(session):
    x, truth = _melody(seed=7, duration_s=20.0)
    shift = 0.37
    shifted = np.concatenate([np.zeros(round(shift * SAMPLE_RATE), np.float32), x])
    runs = {
        "default windows": _transcribe(x, session, 15),
        "short windows": _transcribe(x, session, 60),  # a seam every 0.6 s
        "shifted seams": _transcribe(
            shifted, session, 15, round(shift * SAMPLE_RATE) / SAMPLE_RATE
        ),
    }
    for name, notes in runs.items():
        sure = [n for n in notes if n[3] >= 64]  # the model's weak partial notes aside
        assert len(sure) == len(truth), name
        for t_on, t_off, pitch in truth:
            found = [n for n in sure if n[2] == pitch and abs(n[0] - t_on) <= 0.05]
            assert len(found) == 1, (name, t_on, pitch)
            # mir_eval's offset criterion: within 20 % of the note's length, at least 50 ms.
            tolerance = max(0.05, 0.2 * (t_off - t_on))
            assert found[0][1] == pytest.approx(t_off, abs=tolerance), (name, t_on, pitch)
        for pitch in {n[2] for n in notes}:  # nothing duplicated or cut at a seam
            spans = sorted((n[0], n[1]) for n in notes if n[2] == pitch)
            assert all(b[0] >= a[1] for a, b in itertools.pairwise(spans)), name


def test_windows_without_needed_frames_are_not_run(session):
    x = _place([(0.5, _tone(69, 1.0, 0.3, sr=SAMPLE_RATE))], 10.0, sr=SAMPLE_RATE)
    calls = []

    class Counting:
        def run(self, names, feeds):
            calls.append(next(iter(feeds.values())).shape[0])
            return session.run(names, feeds)

    full = infer_posteriors(x, Counting(), batch_windows=1)
    n_windows = len(calls)
    needed = np.zeros(full.n_frames, dtype=bool)
    needed[: round(2.0 * SAMPLE_RATE / HOP)] = True
    calls.clear()
    part = infer_posteriors(x, Counting(), batch_windows=4, needed=needed)
    assert sum(calls) == 2 < n_windows  # the two windows that hold the first 2 s
    np.testing.assert_allclose(part.note[needed], full.note[needed], atol=1e-5)
    assert not part.note[2 * (172 - 2 * 15) :].any()


def test_stems_get_notes_by_their_profile(session):
    tone = harmonic_tone(220.0, 1.0, amplitude=0.3)
    assert set(extract_stem_features(tone, SR, "vocals").notes["method"]) == {"pitch_track"}
    assert set(extract_stem_features(tone, SR, "accompaniment").notes["method"]) == {"basic_pitch"}
    assert extract_stem_features(tone, SR, "drums").notes.height == 0
    settings = FeatureSettings().with_profile("vocals", note_method="basic_pitch")
    assert set(extract_stem_features(tone, SR, "vocals", settings).notes["method"]) == {
        "basic_pitch"
    }
    with pytest.raises(ValueError, match="note_method"):
        StemProfile(note_method="crepe")
    with pytest.raises(ValueError, match="needs a pitch_method"):
        StemProfile(pitch_method="none", note_method="pitch_track")


def test_worker_processes_give_the_same_notes(session):
    stems = {
        "other": _place([(0.3, _tone(64, 1.0, 0.3))], 1.5),
        "piano": _place([(0.2, _tone(52, 1.0, 0.3))], 1.5),
    }
    parallel = extract_track_features(stems, SR, max_workers=2)
    sequential = extract_track_features(stems, SR, max_workers=1)
    for name in stems:
        assert parallel[name].notes.height == 1
        assert parallel[name].notes.equals(sequential[name].notes)
