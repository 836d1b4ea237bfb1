"""Inspection of inputs and stems on real files: a tone's level is measured (digital silence at
the -120 dBFS floor), files beyond the limits or with NaN are refused naming the file, a file
changed since its scan is reported as changed (also when its new content does not decode), and
stems are checked against the mixture's length, rate and finiteness."""

from __future__ import annotations

import functools
import hashlib

import numpy as np
import pytest
import soundfile as sf

from catalogue.track_identity import InputChanged, check_unchanged
from dbfs import FLOOR_DBFS
from separation.audio import AudioError
from separation.inspection import (
    MAX_CHANNELS,
    inspect_audio,
    inspect_unchanged,
    level_dbfs,
    stem_problems,
)

RATE = 44100


def tone(seconds: float = 1.0, amplitude: float = 0.5, channels: int = 2) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    x = amplitude * np.sin(2 * np.pi * 441.0 * t)  # whole periods: RMS exactly amplitude/sqrt 2
    return np.repeat(x[:, None], channels, axis=1).astype(np.float32)


def sha256(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_tone_is_measured(tmp_path):
    path = tmp_path / "tone.wav"
    sf.write(path, tone(), RATE, subtype="FLOAT")
    meta = inspect_audio(str(path), max_duration_s=10)
    assert (meta["sample_rate"], meta["channels"], meta["n_samples"]) == (RATE, 2, RATE)
    assert (meta["format"], meta["subtype"]) == ("WAV", "FLOAT")
    assert meta["duration_s"] == pytest.approx(1.0)
    assert meta["peak_dbfs"] == pytest.approx(20 * np.log10(0.5), abs=1e-3)
    assert meta["rms_dbfs"] == pytest.approx(20 * np.log10(0.5 / np.sqrt(2)), abs=1e-3)


def test_a_minus_20_dbfs_sine_has_its_peak_at_minus_20_and_its_rms_at_minus_23_01(tmp_path):
    path = tmp_path / "sine.wav"
    sf.write(path, tone(amplitude=0.1), RATE, subtype="FLOAT")
    meta = inspect_audio(str(path), max_duration_s=10)
    assert meta["peak_dbfs"] == pytest.approx(-20.0, abs=1e-3)
    assert meta["rms_dbfs"] == pytest.approx(-23.0103, abs=1e-3)  # -20 - 10 log10(2)


def test_digital_silence_is_the_floor_not_minus_infinity(tmp_path):
    path = tmp_path / "silence.flac"
    sf.write(path, np.zeros((RATE, 2), np.float32), RATE)
    meta = inspect_audio(str(path), max_duration_s=10)
    assert meta["peak_dbfs"] == meta["rms_dbfs"] == FLOOR_DBFS == -120.0
    assert level_dbfs(1.0) == 0.0 and level_dbfs(0.0) == FLOOR_DBFS


def test_a_file_longer_than_the_maximum_is_refused(tmp_path):
    path = tmp_path / "long.wav"
    sf.write(path, tone(3.0), RATE)
    with pytest.raises(AudioError, match=rf"^{path}: 3 s is longer than the configured maximum"):
        inspect_audio(str(path), max_duration_s=2)


def test_too_many_channels_are_refused(tmp_path):
    path = tmp_path / "many.wav"
    sf.write(path, np.zeros((100, MAX_CHANNELS + 1), np.float32), RATE)
    with pytest.raises(AudioError, match=f"{MAX_CHANNELS + 1} channels is beyond the limits"):
        inspect_audio(str(path), max_duration_s=10)


def test_nan_samples_are_refused_with_their_position(tmp_path):
    x = tone()
    x[1000, 1] = np.nan
    path = tmp_path / "nan.wav"
    sf.write(path, x, RATE, subtype="FLOAT")
    with pytest.raises(AudioError, match=r"NaN or infinite samples \(first at sample 1000"):
        inspect_audio(str(path), max_duration_s=10)


def test_the_scanned_content_is_verified_after_decoding(tmp_path):
    path = tmp_path / "tone.flac"
    sf.write(path, tone(), RATE)
    verify = functools.partial(check_unchanged, str(path), sha256(path))
    assert inspect_unchanged(str(path), 10, verify)["n_samples"] == RATE
    sf.write(path, tone(amplitude=0.25), RATE)  # other content since the scan
    with pytest.raises(InputChanged, match="changed while being processed"):
        inspect_unchanged(str(path), 10, verify)


def test_a_change_wins_over_bad_audio(tmp_path):
    path = tmp_path / "bad.wav"
    path.write_bytes(b"not audio at all")
    unchanged = functools.partial(check_unchanged, str(path), sha256(path))
    with pytest.raises(AudioError, match="not a readable audio file"):
        inspect_unchanged(str(path), 10, unchanged)
    changed = functools.partial(check_unchanged, str(path), "0" * 64)
    with pytest.raises(InputChanged, match="changed while being processed"):
        inspect_unchanged(str(path), 10, changed)


def test_sound_stems_have_no_problems(tmp_path):
    sf.write(tmp_path / "vocals.flac", tone(), RATE)  # integer samples: not decoded again
    sf.write(tmp_path / "accompaniment.wav", tone(), RATE, subtype="FLOAT")
    stems = {s: str(tmp_path / f) for s, f in [("vocals", "vocals.flac"),
                                               ("accompaniment", "accompaniment.wav")]}  # fmt: skip
    assert stem_problems(stems, RATE, RATE) == []


def test_stem_problems_name_the_stem_and_the_problem(tmp_path):
    short = tmp_path / "vocals.flac"
    sf.write(short, tone()[:-1000], RATE)
    x = tone()
    x[5] = np.inf
    nan = tmp_path / "accompaniment.wav"
    sf.write(nan, x, RATE, subtype="FLOAT")
    text = tmp_path / "bass.flac"
    text.write_text("not audio")
    missing = tmp_path / "drums.flac"
    stems = {"vocals": short, "accompaniment": nan, "bass": text, "drums": missing}
    problems = stem_problems({s: str(p) for s, p in stems.items()}, RATE, RATE)
    assert problems[:2] == [
        f"vocals: {RATE - 1000} samples at {RATE} Hz, mixture {RATE} at {RATE} Hz",
        "accompaniment: NaN or infinite samples",
    ]
    assert problems[2].startswith(f"bass: {text} is unreadable (")
    assert problems[3:] == [f"drums: {missing} is missing"]
