"""Chroma and key: a C major triad lights bins C, E, G (bin 0 = C); a cadence in C gives C major."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest

from features import PITCH_CLASS_NAMES, FeatureValidationError, extract_stem_features
from features.chroma import CHROMA_SCHEMA, validate_chroma
from tests.features.synthetic_signals import SR, harmonic_tone, midi_hz


def _chord(midis, duration_s):
    return sum(harmonic_tone(midi_hz(m), duration_s, 0.25, n_harmonics=4) for m in midis)


def test_c_major_triad_peaks_at_c_e_g():
    feats = extract_stem_features(_chord((60, 64, 67), 1.0), SR, "other")
    frames = np.stack(feats.chroma["chroma"].to_numpy())[10:-10]
    np.testing.assert_allclose(frames.max(axis=1), 1.0)  # unitMax per frame
    chroma = frames.mean(axis=0)
    top3 = {PITCH_CLASS_NAMES[i] for i in np.argsort(chroma)[::-1][:3]}
    assert top3 == {"C", "E", "G"}
    assert np.sort(chroma)[-3] > 2 * np.sort(chroma)[-4]  # the triad stands out


def test_tuning_reference_moves_the_bins():
    tone = harmonic_tone(midi_hz(69.5), 1.0)  # a quarter tone above A4
    from features import FeatureSettings

    feats = extract_stem_features(tone, SR, "other", FeatureSettings(tuning_hz=440 * 2 ** (1 / 24)))
    chroma = np.stack(feats.chroma["chroma"].to_numpy())[10:-10].mean(axis=0)
    assert PITCH_CLASS_NAMES[int(np.argmax(chroma))] == "A"  # A at the shifted reference


def test_cadence_in_c_major_gives_c_major_key():
    progression = [(48, 60, 64, 67), (53, 60, 65, 69), (55, 59, 62, 67), (48, 60, 64, 67)]
    x = np.concatenate([_chord(c, 0.6) for c in progression])
    summary = extract_stem_features(x, SR, "other").summary.row(0, named=True)
    assert (summary["key"], summary["mode"]) == ("C", "major")


def test_summary_mean_chroma_is_the_mean_of_the_stored_frames():
    feats = extract_stem_features(_chord((62, 66, 69), 0.8), SR, "other")  # D major
    frames = np.stack(feats.chroma["chroma"].to_numpy())
    mean = feats.summary["mean_chroma"][0].to_numpy()
    np.testing.assert_allclose(mean, frames.mean(axis=0), rtol=1e-5)
    assert {PITCH_CLASS_NAMES[i] for i in np.argsort(mean)[::-1][:3]} == {"D", "F#", "A"}


def test_chroma_joins_pitch_on_the_frame_grid():
    feats = extract_stem_features(_chord((57, 60, 64), 0.7), SR, "other")
    joined = feats.pitch.join(feats.chroma, on="frame")
    assert joined.height == feats.grid.n_frames == feats.chroma.height
    np.testing.assert_array_equal(joined["time_s"], joined["time_s_right"])


def _chroma_table(values):
    n = len(values)
    return pl.DataFrame(
        {"frame": list(range(n)), "time_s": [i * 0.01 for i in range(n)], "chroma": values},
        schema=CHROMA_SCHEMA,
    )


def test_validate_chroma():
    good = [[1.0] + [0.0] * 11, [0.0] * 12]
    validate_chroma(_chroma_table(good))
    with pytest.raises(FeatureValidationError, match="maximum of 1"):
        validate_chroma(_chroma_table([[0.5] + [0.0] * 11]))
    with pytest.raises(FeatureValidationError, match="NaN"):
        validate_chroma(_chroma_table([[float("nan")] + [1.0] * 11]))
    with pytest.raises(FeatureValidationError, match="outside"):
        validate_chroma(_chroma_table([[-1.0] + [1.0] * 11]))
