"""Onset, melody, note and key scores against hand-computed cases; input validation."""

from __future__ import annotations

import numpy as np
import pytest

from evaluation import (
    EvaluationInputError,
    key_score,
    melody_scores,
    note_scores,
    onset_scores,
    records_frame,
)


def test_onset_scores_hand_computed():
    s = onset_scores([0.5, 1.0, 1.5], [0.52, 1.2])
    assert (s["precision"], s["recall"]) == (0.5, pytest.approx(1 / 3))
    assert s["f_measure"] == pytest.approx(0.4)
    assert (s["n_reference"], s["n_estimate"], s["window_s"]) == (3, 2, 0.05)


def test_onset_window_is_50_ms():
    assert onset_scores([1.0], [1.049])["f_measure"] == 1.0
    assert onset_scores([1.0], [1.051])["f_measure"] == 0.0
    assert onset_scores([1.0], [1.08], window_s=0.1)["f_measure"] == 1.0


def test_onset_scores_empty_cases():
    assert onset_scores([], [])["f_measure"] == 1.0
    assert onset_scores([0.5], [])["f_measure"] == 0.0
    assert onset_scores([], [0.5])["precision"] == 0.0


@pytest.mark.parametrize(
    "est, match",
    [
        ([0.5, 0.2], "sorted"),
        ([-0.1, 0.2], "negative"),
        ([0.1, np.nan], "NaN"),
        ([[0.1, 0.2]], "1-D"),
    ],
)
def test_onset_scores_validate_inputs(est, match):
    with pytest.raises(EvaluationInputError, match=match):
        onset_scores([0.1, 0.3], est)


def test_melody_scores_hand_computed():
    t = np.arange(100) * 0.01
    ref = np.where(t < 0.5, 220.0, 0.0)
    est = np.zeros(100)
    est[:25] = 220.0  # correct
    est[25:50] = 440.0  # octave errors
    est[50:60] = 300.0  # false alarms on 10 of 50 unvoiced frames
    s = melody_scores(t, ref, t, est)
    assert s["raw_pitch_accuracy"] == pytest.approx(0.5)
    assert s["raw_chroma_accuracy"] == pytest.approx(1.0)
    assert s["voicing_recall"] == pytest.approx(1.0)
    assert s["voicing_false_alarm"] == pytest.approx(0.2)
    assert s["overall_accuracy"] == pytest.approx(0.65)
    assert s["n_reference_voiced"] == 50


def test_melody_scores_pitch_within_50_cents():
    t = np.arange(10) * 0.01
    ref = np.full(10, 440.0)
    assert melody_scores(t, ref, t, ref * 2 ** (49 / 1200))["raw_pitch_accuracy"] == 1.0
    assert melody_scores(t, ref, t, ref * 2 ** (51 / 1200))["raw_pitch_accuracy"] == 0.0


def test_melody_scores_without_reference_voicing_are_nan():
    t = np.arange(10) * 0.01
    s = melody_scores(t, np.zeros(10), t, np.zeros(10))
    assert np.isnan(s["raw_pitch_accuracy"]) and s["voicing_false_alarm"] == 0.0


@pytest.mark.parametrize(
    "est_t, est_f, match",
    [
        (np.arange(10) * 0.01, np.zeros(9), "shape"),
        (np.arange(10) * 0.01, np.full(10, np.nan), "NaN"),
        (np.arange(10)[::-1] * 0.01, np.zeros(10), "sorted"),
    ],
)
def test_melody_scores_validate_inputs(est_t, est_f, match):
    t = np.arange(10) * 0.01
    with pytest.raises(EvaluationInputError, match=match):
        melody_scores(t, np.full(10, 220.0), est_t, est_f)


def test_note_scores_with_and_without_offsets():
    ref = [[0.0, 1.0], [1.0, 2.0], [2.0, 2.5]]
    est = [[0.02, 0.5], [1.01, 1.98], [2.2, 2.5]]  # early offset; good; onset 200 ms late
    s = note_scores(ref, [60, 62, 64], est, [60, 62, 64])
    assert s["precision_no_offset"] == pytest.approx(2 / 3)
    assert s["recall_no_offset"] == pytest.approx(2 / 3)
    assert s["precision"] == pytest.approx(1 / 3) and s["recall"] == pytest.approx(1 / 3)
    assert (s["n_reference"], s["n_estimate"]) == (3, 3)


def test_note_pitch_tolerance_is_50_cents():
    ref = [[0.0, 1.0]]
    assert note_scores(ref, [60], ref, [60.4])["f_measure"] == 1.0
    assert note_scores(ref, [60], ref, [61])["f_measure"] == 0.0


def test_note_scores_empty_cases():
    assert note_scores([], [], [], [])["f_measure"] == 1.0
    assert note_scores([[0.0, 1.0]], [60], [], [])["f_measure_no_offset"] == 0.0


@pytest.mark.parametrize(
    "est, pitches, match",
    [
        ([[1.0, 0.5]], [60], "offset must be after"),
        ([[0.0, 0.5]], [60, 62], "2 pitches for 1"),
        ([[0.0, np.nan]], [60], "NaN"),
        ([[-1.0, 0.5]], [60], "negative"),
        ([[0.0, 0.5]], [np.nan], "finite MIDI"),
    ],
)
def test_note_scores_validate_inputs(est, pitches, match):
    with pytest.raises(EvaluationInputError, match=match):
        note_scores([[0.0, 1.0]], [60], est, pitches)


@pytest.mark.parametrize(
    "estimate, score",
    [
        ("C major", 1.0),
        ("G major", 0.5),
        ("A minor", 0.3),
        ("C minor", 0.2),
        ("F# major", 0.0),
    ],
)
def test_key_score_mirex_weights(estimate, score):
    assert key_score("C major", estimate)["weighted_score"] == pytest.approx(score)


def test_key_score_validates():
    with pytest.raises(EvaluationInputError, match="estimated_key"):
        key_score("C major", "H dorian")


def test_records_frame_joins_different_record_shapes():
    frame = records_frame(
        [onset_scores([0.5], [0.5]), key_score("C major", "C major")], track_id="t1", stem="other"
    )
    assert frame.height == 2
    assert frame.columns[:3] == ["track_id", "stem", "task"]
    assert frame["task"].to_list() == ["onsets", "key"]
