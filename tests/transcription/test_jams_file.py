"""JAMS export: structure, sorted times, non-negative durations, values (plain JSON)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from transcription.jams_file import jams_document, write_jams

TOP_KEYS = {"file_metadata", "annotations", "sandbox"}
ANNOTATION_KEYS = {"namespace", "data", "annotation_metadata", "sandbox", "time", "duration"}
NAMESPACES = ["note_midi", "pitch_contour", "onset"]


def document(notes, pitch, onsets, duration_s=2.0):
    return jams_document(
        track_id="ab12",
        stem="vocals",
        model="4stems",
        duration_s=duration_s,
        notes=notes,
        pitch=pitch,
        onsets=onsets,
    )


def by_namespace(doc):
    return {a["namespace"]: a for a in doc["annotations"]}


def test_structure_and_metadata(tmp_path, notes, pitch, onsets):
    path = write_jams(tmp_path / "vocals.jams", document(notes, pitch, onsets))
    doc = json.loads(path.read_text())
    assert set(doc) == TOP_KEYS
    meta = doc["file_metadata"]
    assert meta["duration"] == 2.0
    assert meta["identifiers"] == {"track_id": "ab12", "stem": "vocals", "model": "4stems"}
    assert [a["namespace"] for a in doc["annotations"]] == NAMESPACES
    for annotation in doc["annotations"]:
        assert set(annotation) == ANNOTATION_KEYS
        times = [obs["time"] for obs in annotation["data"]]
        assert times == sorted(times)
        assert all(obs["duration"] >= 0 for obs in annotation["data"])
        assert all(
            set(obs) == {"time", "duration", "value", "confidence"} for obs in annotation["data"]
        )


def test_values_match_tables(notes, pitch, onsets):
    doc = by_namespace(document(notes, pitch, onsets))
    note_data = doc["note_midi"]["data"]
    assert [o["value"] for o in note_data] == notes["midi_pitch"].to_list()
    assert [o["time"] for o in note_data] == notes["onset_s"].to_list()
    durations = (notes["offset_s"] - notes["onset_s"]).to_list()
    assert [o["duration"] for o in note_data] == pytest.approx(durations)

    contour = doc["pitch_contour"]["data"]
    assert len(contour) == pitch.height
    freq = np.array([o["value"]["frequency"] for o in contour])
    voiced = np.array([o["value"]["voiced"] for o in contour])
    np.testing.assert_allclose(freq, pitch["f0_hz"].to_numpy(), rtol=1e-6)
    np.testing.assert_array_equal(voiced, pitch["voiced"].to_numpy() == 1)
    assert all(o["value"]["index"] == 0 for o in contour)

    onset_data = doc["onset"]["data"]
    assert [o["time"] for o in onset_data] == onsets["time_s"].to_list()
    assert [o["confidence"] for o in onset_data] == pytest.approx(onsets["strength"].to_list())


def test_missing_column_is_reported(notes, pitch, onsets):
    with pytest.raises(ValueError, match="pitch table lacks"):
        document(notes, pitch.drop("voiced"), onsets)
