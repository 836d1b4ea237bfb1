"""Feature coverage of a stem: a summary and pitch frames spanning the stem's duration pass;
a short summary, too few or too many pitch frames are each named; a silent stem has no pitch
table to check."""

from __future__ import annotations

import polars as pl

from features.coverage import COVER_TOLERANCE_S, FRAMES_PER_S, coverage_problems


def summary(duration_s: float) -> pl.DataFrame:
    return pl.DataFrame({"duration_s": [duration_s], "is_silent": [False]})


def pitch(frames: int) -> pl.DataFrame:
    return pl.DataFrame(
        {"frame": range(frames), "time_s": [i / FRAMES_PER_S for i in range(frames)]}
    )


def test_features_spanning_the_stem_pass():
    assert FRAMES_PER_S == 100
    assert coverage_problems(3.0, summary(3.0), pitch(301)) == []
    assert coverage_problems(3.0, summary(3.0 - COVER_TOLERANCE_S / 2), pitch(300)) == []
    assert coverage_problems(3.0, summary(3.0), None) == []  # a silent stem


def test_what_falls_short_is_named():
    assert coverage_problems(3.0, summary(2.5), pitch(300)) == ["summary covers 2.50 s of 3.00 s"]
    assert coverage_problems(3.0, summary(3.0), pitch(100)) == ["100 pitch frames for 3.00 s"]
    assert coverage_problems(3.0, summary(3.0), pitch(0)) == ["0 pitch frames for 3.00 s"]
    assert coverage_problems(3.0, summary(3.0), pitch(400)) == ["400 pitch frames for 3.00 s"]


def test_features_extracted_from_a_real_stem_cover_it():
    import numpy as np

    from features import extract_stem_features

    t = np.arange(44100 * 2) / 44100
    audio = np.repeat((0.3 * np.sin(2 * np.pi * 220 * t))[:, None], 2, axis=1).astype(np.float32)
    tables = extract_stem_features(audio, 44100, "vocals").tables(track_id="ab12")
    assert coverage_problems(2.0, tables["summary"], tables["pitch"]) == []
    assert coverage_problems(2.5, tables["summary"], tables["pitch"]) == [
        "summary covers 2.00 s of 2.50 s",
        f"{tables['pitch'].height} pitch frames for 2.50 s",
    ]
