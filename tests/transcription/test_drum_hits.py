"""Drum hits from onsets: the band rule on seeded synthetic kick, snare and hi-hat."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from features import extract_stem_features
from features.notes import velocity_from_dbfs as notes_velocity
from features.onsets import empty_onsets
from tests.transcription.conftest import DRUM_PATTERN, SAMPLE_RATE, drum_pattern
from transcription.drum_hits import (
    CLOSED_HIHAT,
    HIT_DURATION_S,
    KICK,
    SNARE,
    band_key,
    drum_hits,
    velocity_from_dbfs,
)


def onsets_at(times) -> pl.DataFrame:
    return pl.DataFrame(
        {"time_s": times, "frame": [0] * len(times), "strength": [1.0] * len(times)}
    )


def test_known_onsets_give_the_drum_of_each_band():
    audio = drum_pattern()
    hits = drum_hits(onsets_at([t for t, _ in DRUM_PATTERN]), audio, SAMPLE_RATE)
    assert hits["midi_pitch"].to_list() == [key for _, key in DRUM_PATTERN]
    assert hits["onset_s"].to_list() == [t for t, _ in DRUM_PATTERN]
    # hits 250 ms apart last their full 100 ms
    assert (hits["offset_s"] - hits["onset_s"]).to_list() == pytest.approx([HIT_DURATION_S] * 8)
    # the kick (0.8 peak) is the loudest hit, the hi-hat (0.3) the softest
    by_key = dict(zip(hits["midi_pitch"], hits["velocity"], strict=True))
    assert by_key[KICK] > by_key[SNARE] > by_key[CLOSED_HIHAT] >= 1


def test_real_onsets_of_the_drums_stem_map_to_the_right_keys():
    audio = drum_pattern()
    feats = extract_stem_features(audio, SAMPLE_RATE, "drums")
    hits = drum_hits(feats.onsets, audio, SAMPLE_RATE)
    assert hits.height == len(DRUM_PATTERN)
    for onset, key, (true_time, true_key) in zip(
        hits["onset_s"], hits["midi_pitch"], DRUM_PATTERN, strict=True
    ):
        assert onset == pytest.approx(true_time, abs=0.012)  # one detection frame
        assert key == true_key


def test_band_key_reads_pure_bands():
    t = np.arange(2205) / SAMPLE_RATE
    assert band_key(np.sin(2 * np.pi * 60 * t), SAMPLE_RATE) == KICK
    assert band_key(np.sin(2 * np.pi * 1000 * t), SAMPLE_RATE) == SNARE
    assert band_key(np.sin(2 * np.pi * 9000 * t), SAMPLE_RATE) == CLOSED_HIHAT


def test_repeated_key_is_cut_at_the_next_strike_and_duplicates_merge():
    audio = drum_pattern()
    hits = drum_hits(onsets_at([0.1, 0.13, 0.13]), audio, SAMPLE_RATE)
    assert hits["midi_pitch"].to_list() == [KICK, KICK]
    assert hits["offset_s"].to_list() == pytest.approx([0.13, 0.13 + HIT_DURATION_S])


def test_no_onsets_no_hits_and_velocity_matches_the_notes_proxy():
    hits = drum_hits(empty_onsets(), np.zeros((SAMPLE_RATE, 2), np.float32), SAMPLE_RATE)
    assert hits.height == 0 and "midi_pitch" in hits.columns
    levels = np.array([-120.0, -60.0, -30.0, -3.0, 0.0, 6.0])
    assert velocity_from_dbfs(levels).tolist() == notes_velocity(levels).tolist()
    with pytest.raises(ValueError, match="time_s"):
        drum_hits(pl.DataFrame({"t": [0.1]}), np.zeros(100, np.float32), SAMPLE_RATE)
