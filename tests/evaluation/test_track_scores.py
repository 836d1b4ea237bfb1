"""Scoring a track against its truth, on real files: references are mixed into the model's
stems (accompaniment = everything but vocals), SDR has its known value for a stem that is its
reference scaled, silent references are skipped, and features equal to hand-written
annotations score perfectly, each against the stem that carries the part."""

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
    times = np.round(np.arange(200) * 0.01, 2)
    f0 = np.where((times >= 0.5) & (times < 1.5), 261.63, 0.0)
    pl.DataFrame({"time_s": times, "f0_hz": f0}).write_csv(ann / "f0_vocals.csv")
    (ann / "onsets_drums.csv").write_text("time_s,instrument\n0.0,kick\n0.5,snare\n1.0,kick\n")
    return load_annotations(tmp_path / "song")


def test_features_equal_to_the_annotations_score_perfectly(truth):
    f0 = truth.f0["vocals"]
    features = {
        ("pitch", "vocals"): pl.DataFrame(
            {"time_s": f0["time_s"], "f0_hz": f0["f0_hz"], "voiced": (f0["f0_hz"] > 0)}
        ).with_columns(pl.col("voiced").cast(pl.Int8)),
        ("notes", "vocals"): truth.notes["vocals"].select("onset_s", "offset_s", "midi_pitch"),
        ("onsets", "accompaniment"): pl.DataFrame({"time_s": truth.onset_times("drums")}),
    }
    records = annotation_records(truth, ["vocals", "accompaniment"], features)
    by_metric = {r["metric"]: r for r in records}
    assert set(by_metric) == {
        *(f"melody_{m}" for m in MELODY_METRICS),
        *(f"notes_vocals_{m}" for m in NOTE_METRICS),
        *(f"onsets_drums_{m}" for m in ONSET_METRICS),
    }
    for metric in ("melody_raw_pitch_accuracy", "notes_vocals_f_measure", "onsets_drums_f_measure"):
        assert by_metric[metric]["value"] == pytest.approx(1.0), metric
    assert by_metric["melody_voicing_false_alarm"]["value"] == 0.0
    assert by_metric["onsets_drums_f_measure"]["stem"] == "accompaniment"  # two stems
    assert by_metric["notes_vocals_recall"]["reference"] == "annotations/notes_vocals.csv"


def test_a_silent_vocal_stem_has_an_unvoiced_melody_and_missing_features_no_score(truth):
    empty_pitch = pl.DataFrame(
        schema={"time_s": pl.Float64, "f0_hz": pl.Float64, "voiced": pl.Int8}
    )
    records = annotation_records(
        truth, ["vocals", "accompaniment"], {("pitch", "vocals"): empty_pitch}
    )
    scores = {r["metric"]: r["value"] for r in records}
    assert set(scores) == {f"melody_{m}" for m in MELODY_METRICS}
    assert scores["melody_voicing_recall"] == 0.0
    assert annotation_records(truth, ["vocals", "accompaniment"], {}) == []


def test_the_features_read_are_those_of_the_stems_carrying_each_part():
    assert scored_features(["vocals", "accompaniment"]) == [
        ("pitch", "vocals"),
        ("notes", "vocals"),
        ("onsets", "accompaniment"),
    ]
    assert scored_features(["vocals", "drums", "bass", "other"]) == [
        ("pitch", "vocals"),
        ("notes", "vocals"),
        ("notes", "bass"),
        ("onsets", "drums"),
    ]
