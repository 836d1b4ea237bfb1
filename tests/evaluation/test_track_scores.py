"""Scoring a track against its truth, on real files: references are mixed into the model's
stems (accompaniment = everything but vocals), SDR has its known value for a stem that is its
reference scaled, silent references are skipped; features equal to hand-written annotations
score perfectly and shifted ones score 0, per part, each against the stem that carries the
part; a track without readable annotations says so in its rows."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest
import soundfile as sf

from evaluation.annotations import load_annotations
from evaluation.track_scores import (
    MELODY_METRICS,
    NOTE_METRICS,
    ONSET_METRICS,
    annotation_records,
    annotation_status_records,
    fit_length,
    reference_audio,
    scored_features,
    sdr_records,
)

RATE = 8000


def noise(seed: int, n: int = RATE) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.3, 0.3, (n, 2)).astype(np.float32)


def write(path, data) -> str:
    sf.write(path, data, RATE, subtype="FLOAT")
    return str(path)


def test_fit_length_makes_stereo_of_n_frames():
    mono = np.arange(4, dtype=np.float32)[:, None]
    np.testing.assert_array_equal(fit_length(mono, 6)[:, 1], [0, 1, 2, 3, 0, 0])
    assert fit_length(np.ones((10, 4), np.float32), 3).shape == (3, 2)


def test_accompaniment_is_every_reference_but_vocals(tmp_path):
    parts = {name: noise(seed) for seed, name in enumerate(("vocals", "drums", "bass", "other"))}
    refs = {name: write(tmp_path / f"{name}.wav", x) for name, x in parts.items()}
    audio = reference_audio(refs, ["vocals", "accompaniment"], RATE)
    np.testing.assert_array_equal(audio["vocals"], parts["vocals"])
    expected = parts["drums"] + parts["bass"] + parts["other"]
    np.testing.assert_allclose(audio["accompaniment"], expected, atol=1e-6)


def test_sdr_of_a_scaled_reference_and_no_score_for_silence(tmp_path):
    vocals = noise(1)
    refs = {
        "vocals": write(tmp_path / "ref_vocals.wav", vocals),
        "drums": write(tmp_path / "ref_drums.wav", np.zeros_like(vocals)),
    }
    stems = {
        "vocals": write(tmp_path / "vocals.wav", 0.9 * vocals),  # error 0.1 x reference: 20 dB
        "accompaniment": write(tmp_path / "accompaniment.wav", noise(2)),
    }
    (record,) = sdr_records(refs, stems, RATE)  # the accompaniment's reference is silent
    assert record["stem"] == "vocals" and record["metric"] == "global_sdr_db"
    assert record["value"] == pytest.approx(20.0, abs=1e-3)
    assert record["reference"] == "drums,vocals"
    assert sdr_records({}, stems, RATE) == []


@pytest.fixture
def truth(tmp_path):
    ann = tmp_path / "song" / "annotations"
    ann.mkdir(parents=True)
    (ann / "song.json").write_text(json.dumps({"has_vocals": True}))
    (ann / "notes_vocals.csv").write_text(
        "onset_s,offset_s,midi_pitch,velocity\n0.5,1.0,60,0.8\n1.0,1.5,64,0.5\n"
    )
    (ann / "notes_bass.csv").write_text("0.0,0.9,36\n1.0,1.9,43\n")
    # a triad, then a dyad: several notes at a time
    (ann / "notes_chords.csv").write_text(
        "0.0,1.0,55\n0.0,1.0,60\n0.0,1.0,64\n1.0,2.0,57\n1.0,2.0,62\n"
    )
    times = np.round(np.arange(200) * 0.01, 2)
    f0 = np.where((times >= 0.5) & (times < 1.5), 261.63, 0.0)
    pl.DataFrame({"time_s": times, "f0_hz": f0}).write_csv(ann / "f0_vocals.csv")
    (ann / "onsets_drums.csv").write_text("time_s,instrument\n0.0,kick\n0.5,snare\n1.0,kick\n")
    return load_annotations(tmp_path / "song")


def _pitch(f0: pl.DataFrame) -> pl.DataFrame:
    return pl.DataFrame(
        {"time_s": f0["time_s"], "f0_hz": f0["f0_hz"], "voiced": (f0["f0_hz"] > 0).cast(pl.Int8)}
    )


def _accompaniment_notes(truth, shift_s: float = 0.0) -> pl.DataFrame:
    notes = pl.concat([truth.notes["bass"], truth.notes["chords"]])
    return notes.with_columns(pl.col("onset_s", "offset_s") + shift_s)


def _by_metric(records):
    return {r["metric"]: r for r in records}


def test_features_equal_to_the_annotations_score_perfectly(truth):
    features = {
        ("pitch", "vocals"): _pitch(truth.f0["vocals"]),
        ("notes", "vocals"): truth.notes["vocals"].select("onset_s", "offset_s", "midi_pitch"),
        ("notes", "accompaniment"): _accompaniment_notes(truth),
        ("onsets", "accompaniment"): pl.DataFrame({"time_s": truth.onset_times("drums")}),
    }
    records = annotation_records(truth, ["vocals", "accompaniment"], features)
    by_metric = _by_metric(records)
    assert set(by_metric) == {
        *(f"melody_vocals_{m}" for m in MELODY_METRICS),
        *(f"notes_{part}_{m}" for part in ("vocals", "bass", "chords") for m in NOTE_METRICS),
        *(f"onsets_drums_{m}" for m in ONSET_METRICS),
    }
    for part in ("vocals", "bass", "chords"):
        for metric in ("f_measure", "f_measure_no_offset", "precision", "recall"):
            assert by_metric[f"notes_{part}_{metric}"]["value"] == 1.0, (part, metric)
    assert by_metric["melody_vocals_raw_pitch_accuracy"]["value"] == pytest.approx(1.0)
    assert by_metric["melody_vocals_voicing_false_alarm"]["value"] == 0.0
    assert by_metric["onsets_drums_f_measure"]["value"] == 1.0
    # two stems: bass, chords and drums are on the accompaniment, each with its own notes
    assert by_metric["notes_chords_f_measure"]["stem"] == "accompaniment"
    assert by_metric["notes_bass_n_estimate"]["value"] == 2.0
    assert by_metric["notes_chords_n_estimate"]["value"] == 5.0
    assert by_metric["onsets_drums_f_measure"]["stem"] == "accompaniment"
    assert by_metric["notes_chords_recall"]["reference"] == "annotations/notes_chords.csv"


def test_notes_shifted_by_100_ms_score_0_with_and_without_offsets(truth):
    features = {("notes", "accompaniment"): _accompaniment_notes(truth, shift_s=0.1)}
    scores = {
        r["metric"]: r["value"]
        for r in annotation_records(truth, ["vocals", "accompaniment"], features)
    }
    for part in ("bass", "chords"):
        assert scores[f"notes_{part}_f_measure_no_offset"] == 0.0
        assert scores[f"notes_{part}_f_measure"] == 0.0
        assert scores[f"notes_{part}_n_reference"] > 0


def test_four_stems_score_each_part_on_its_own_stem(truth):
    features = {
        ("notes", "bass"): truth.notes["bass"],
        ("notes", "other"): truth.notes["chords"],
        ("notes", "vocals"): truth.notes["vocals"],
    }
    records = annotation_records(truth, ["vocals", "drums", "bass", "other"], features)
    stems = {r["metric"]: r["stem"] for r in records}
    assert stems["notes_bass_f_measure"] == "bass" and stems["notes_chords_f_measure"] == "other"
    assert all(r["value"] == 1.0 for r in records if r["metric"].endswith("f_measure"))


def test_a_silent_vocal_stem_has_an_unvoiced_melody_and_missing_features_no_score(truth):
    empty_pitch = pl.DataFrame(
        schema={"time_s": pl.Float64, "f0_hz": pl.Float64, "voiced": pl.Int8}
    )
    records = annotation_records(
        truth, ["vocals", "accompaniment"], {("pitch", "vocals"): empty_pitch}
    )
    scores = {r["metric"]: r["value"] for r in records}
    assert set(scores) == {f"melody_vocals_{m}" for m in MELODY_METRICS}
    assert scores["melody_vocals_voicing_recall"] == 0.0
    assert annotation_records(truth, ["vocals", "accompaniment"], {}) == []


def test_a_part_without_notes_alone_on_its_stem_counts_the_notes_found(tmp_path):
    (tmp_path / "notes_vocals.csv").write_text("onset_s,offset_s,midi_pitch\n")  # instrumental
    truth = load_annotations(tmp_path)
    found = pl.DataFrame({"onset_s": [0.1], "offset_s": [0.5], "midi_pitch": [60]})
    (record,) = annotation_records(truth, ["vocals", "accompaniment"], {("notes", "vocals"): found})
    assert (record["metric"], record["value"]) == ("notes_vocals_n_estimate", 1.0)


def test_the_features_read_are_those_of_the_stems_carrying_each_part(truth):
    assert scored_features(truth, ["vocals", "accompaniment"]) == [
        ("pitch", "vocals"),
        ("notes", "accompaniment"),
        ("notes", "vocals"),
        ("onsets", "accompaniment"),
    ]
    assert scored_features(truth, ["vocals", "drums", "bass", "other"]) == [
        ("pitch", "vocals"),
        ("notes", "bass"),
        ("notes", "other"),
        ("notes", "vocals"),
        ("onsets", "drums"),
    ]
    assert scored_features(truth, ["mixture"]) == [
        ("pitch", "mixture"),
        ("notes", "mixture"),
        ("onsets", "mixture"),
    ]


def test_what_was_read_is_recorded_and_none_readable_says_so(truth, tmp_path):
    (status,) = annotation_status_records(truth)
    assert (status["stem"], status["metric"], status["value"]) == ("mixture", "annotation_files", 6)
    assert status["reference"].startswith("read 6 files in ")
    song = tmp_path / "musdb_song"
    song.mkdir()
    (song / "notes_vocals.csv").write_text("0.5,0.4,60\n")
    status, problem = annotation_status_records(load_annotations(song))
    assert status["value"] == 0.0
    assert status["reference"] == f"none readable in {song}; 1 unreadable"
    assert problem["metric"] == "annotation_unreadable"
    assert problem["reference"] == "notes_vocals.csv: line 1: offset 0.4 s is not after onset 0.5 s"
