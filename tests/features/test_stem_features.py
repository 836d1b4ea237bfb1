"""Whole-stem extraction: silence, summary, keys on tables, parallel tracks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from dbfs import FLOOR_DBFS
from features import (
    FeatureSettings,
    FeatureValidationError,
    extract_stem_features,
    extract_track_features,
    validate_summary,
)
from tests.features.synthetic_signals import SR, harmonic_tone


@pytest.mark.parametrize("level", [0.0, 1e-5])
def test_silent_stem_is_flagged_and_has_no_data(rng, level):
    x = (level * rng.standard_normal((SR, 2))).astype(np.float32)
    feats = extract_stem_features(x, SR, "vocals")
    assert feats.is_silent
    for table in (feats.pitch, feats.onsets, feats.chroma, feats.notes):
        assert table.height == 0
    summary = feats.summary.row(0, named=True)
    assert summary["key"] is None and summary["pitch_median_hz"] is None
    assert summary["active_ratio"] < 0.02 and summary["n_notes"] == 0
    assert feats.grid.n_frames == 101
    assert summary["mean_chroma"] is None


def test_mean_chroma_is_the_mean_of_the_chroma_frames_from_c():
    chord = sum(harmonic_tone(f, 2.0, amplitude=0.2) for f in (261.63, 329.63, 392.0))  # C E G
    feats = extract_stem_features(np.stack([chord, chord], axis=1), SR, "accompaniment")
    mean = np.asarray(feats.summary["mean_chroma"][0])
    frames = feats.chroma["chroma"].to_numpy()  # stored C first, like the summary
    np.testing.assert_allclose(mean, frames.mean(axis=0), rtol=1e-5)
    assert set(np.argsort(mean)[-3:]) == {0, 4, 7}  # C, E, G
    bad = feats.summary.with_columns(feats.summary["mean_chroma"].arr.eval(pl.element() * 3))
    with pytest.raises(FeatureValidationError, match="mean_chroma"):
        validate_summary(bad)


def test_quiet_but_real_stem_is_not_silent():
    feats = extract_stem_features(harmonic_tone(220.0, 1.0, amplitude=0.01), SR, "vocals")
    assert not feats.is_silent
    assert feats.pitch["voiced"].mean() > 0.8


def test_summary_of_a_tone():
    x = harmonic_tone(220.0, 2.0, amplitude=0.5)
    summary = extract_stem_features(np.stack([x, x], axis=1), SR, "vocals").summary
    row = summary.row(0, named=True)
    assert row["duration_s"] == pytest.approx(2.0)
    assert row["pitch_median_midi"] == pytest.approx(57.0, abs=0.1)
    assert row["pitch_p05_midi"] <= row["pitch_median_midi"] <= row["pitch_p95_midi"]
    assert row["active_ratio"] == pytest.approx(1.0, abs=0.02)
    assert row["peak_dbfs"] == pytest.approx(20 * np.log10(0.5), abs=0.1)
    assert -30 < row["integrated_lufs"] < 0
    assert row["n_notes"] == 1 and row["pitch_method"] == "swiftf0"
    assert int(np.argmax(row["mean_chroma"])) == 9  # 220 Hz is an A (0 = C)
    bad = summary.with_columns(summary["active_ratio"] * 0 + 1.5)
    with pytest.raises(FeatureValidationError, match="active_ratio"):
        validate_summary(bad)


def test_tables_carry_track_and_stem_keys():
    feats = extract_stem_features(harmonic_tone(110.0, 0.5), SR, "bass")
    tables = feats.tables(track_id="abc123")
    assert set(tables) == {"pitch", "onsets", "chroma", "notes", "summary"}
    for table in tables.values():
        assert table.columns[:2] == ["track_id", "stem"]
        assert set(table["stem"].to_list()) <= {"bass"}


def test_profile_override_changes_the_method():
    settings = FeatureSettings().with_profile("vocals", pitch_method="melodia")
    feats = extract_stem_features(harmonic_tone(330.0, 1.0), SR, "vocals", settings)
    assert feats.summary["pitch_method"][0] == "melodia"
    with pytest.raises(ValueError, match="pitch_method"):
        FeatureSettings().with_profile("vocals", pitch_method="crepe")


def test_resampled_input_lands_on_the_same_grid():
    x = harmonic_tone(220.0, 1.0, sr=22050)
    feats = extract_stem_features(x, 22050, "vocals")
    assert feats.grid.sample_rate == 44100 and feats.grid.n_frames == 101
    assert feats.summary["pitch_median_hz"][0] == pytest.approx(220.0, abs=1.0)


def test_track_stems_in_parallel_processes_match_sequential():
    stems = {"vocals": harmonic_tone(330.0, 1.0), "bass": harmonic_tone(82.4, 1.0)}
    parallel = extract_track_features(stems, SR, max_workers=2)
    sequential = extract_track_features(stems, SR, max_workers=1)
    assert list(parallel) == ["vocals", "bass"]
    for name in stems:
        assert parallel[name].pitch.equals(sequential[name].pitch)
        assert parallel[name].notes.equals(sequential[name].notes)


KILLED_POOL_OWNER = """
import os, signal
from features.parallel import feature_process_pool
pool = feature_process_pool(2)  # both workers started
print("workers up", flush=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_pool_workers_exit_when_the_process_that_started_them_is_killed():
    # The workers inherit the owner's stdout: `run` returns only once they have all exited
    # (a worker left running would keep a killed `stemline run`'s output pipe open forever).
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    owner = subprocess.run(
        [sys.executable, "-c", KILLED_POOL_OWNER], env=env, capture_output=True, timeout=120
    )
    assert owner.returncode == -signal.SIGKILL
    assert owner.stdout.strip() == b"workers up"


def test_stem_levels_of_digital_silence_are_the_floor_and_of_a_sine_its_level():
    silent = extract_stem_features(np.zeros((SR, 2), np.float32), SR, "vocals").summary
    row = silent.row(0, named=True)
    assert row["rms_dbfs"] == row["peak_dbfs"] == FLOOR_DBFS == -120.0  # never -inf
    t = np.arange(SR) / SR
    sine = (0.1 * np.sin(2 * np.pi * 441.0 * t)).astype(np.float32)  # -20 dBFS peak
    row = extract_stem_features(np.stack([sine, sine], axis=1), SR, "vocals").summary.row(
        0, named=True
    )
    assert row["peak_dbfs"] == pytest.approx(-20.0, abs=0.01)
    assert row["rms_dbfs"] == pytest.approx(-23.01, abs=0.01)
