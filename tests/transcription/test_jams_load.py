"""JAMS export read back and schema-validated by the ``jams`` package (dev dependency)."""

from __future__ import annotations

import jams
import pytest

from features.notes import empty_notes
from features.onsets import empty_onsets
from features.pitch import empty_pitch_frames
from tests.transcription.test_jams_file import document
from transcription.jams_file import jams_document, write_jams

pytestmark = pytest.mark.filterwarnings(
    "ignore:Passing a schema to Validator.iter_errors:DeprecationWarning"
)


def test_jams_library_loads_and_validates(tmp_path, notes, pitch, onsets):
    path = write_jams(tmp_path / "vocals.jams", document(notes, pitch, onsets))
    loaded = jams.load(str(path), validate=True, strict=True)
    assert loaded.file_metadata.duration == 2.0
    contour = loaded.search(namespace="pitch_contour")[0]
    intervals, values = contour.to_interval_values()
    assert len(values) == pitch.height
    assert (intervals[1:, 0] > intervals[:-1, 0]).all()
    notes_ann = loaded.search(namespace="note_midi")[0]
    assert [o.value for o in notes_ann.data] == notes["midi_pitch"].to_list()


def test_silent_stem_has_empty_annotations(tmp_path):
    doc = document(empty_notes(), empty_pitch_frames(), empty_onsets(), duration_s=1.5)
    path = write_jams(tmp_path / "silent.jams", doc)
    loaded = jams.load(str(path), validate=True, strict=True)
    assert [len(a.data) for a in loaded.annotations] == [0, 0, 0]
    assert loaded.file_metadata.duration == 1.5


def test_note_rules_and_midi_voice_validate(tmp_path, notes, pitch, onsets):
    doc = jams_document(
        track_id="ab12",
        stem="drums",
        model="4stems",
        duration_s=2.0,
        notes=notes,
        pitch=pitch,
        onsets=onsets,
        note_rules="General MIDI percussion keys",
        sandbox={"midi_channel": 9, "midi_program": 0, "percussion": True},
    )
    loaded = jams.load(str(write_jams(tmp_path / "drums.jams", doc)), validate=True, strict=True)
    notes_ann = loaded.search(namespace="note_midi")[0]
    assert notes_ann.annotation_metadata.annotation_rules == "General MIDI percussion keys"
    assert loaded.sandbox.stemline["midi_channel"] == 9
