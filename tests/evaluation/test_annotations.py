"""The annotation formats: CSV and JAMS files with known content read back equal, in the song
folder or its ``annotations/``; an unreadable file is left out with a one-line reason naming it;
a folder without readable annotations says so; the demo songs' files are the same format."""

from __future__ import annotations

import json

import jams
import numpy as np
import pytest

from evaluation.annotations import has_annotations, load_annotations, song_folder

NOTES = [(0.5, 1.0, 60.0), (0.5, 1.0, 64.0), (1.25, 2.0, 67.5)]  # a chord, then a quarter tone


def _write(folder, name, text):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)


def _notes(truth, part):
    return truth.notes[part].select("onset_s", "offset_s", "midi_pitch").rows()


def test_hand_written_files_read_sorted_with_their_columns(tmp_path):
    ann = tmp_path / "song" / "annotations"
    _write(ann, "song.json", json.dumps({"key": "C major", "has_vocals": True}))
    _write(ann, "notes_vocals.csv", "onset_s,offset_s,midi_pitch,velocity\n1.0,1.5,64,0.5\n"
           "0.5,1.0,60,0.8\n")  # fmt: skip
    _write(ann, "f0_vocals.csv", "time_s,f0_hz\n0.0,0\n0.01,261.63\n")
    _write(ann, "onsets_drums.csv", "time_s,instrument\n0.5,snare\n0.0,kick\n0.5,kick\n")
    truth = load_annotations(tmp_path / "song")
    assert truth.metadata == {"key": "C major", "has_vocals": True}
    assert set(truth.notes) == {"vocals"} and set(truth.f0) == {"vocals"}
    assert truth.notes["vocals"]["midi_pitch"].to_list() == [60, 64]  # sorted by onset
    assert truth.notes["vocals"]["velocity"].to_list() == [0.8, 0.5]
    assert truth.f0["vocals"]["f0_hz"].to_list() == [0.0, 261.63]
    assert truth.drum_onsets["instrument"].to_list() == ["kick", "snare", "kick"]  # stable
    np.testing.assert_array_equal(truth.onset_times("drums"), [0.0, 0.5])  # unique, sorted
    np.testing.assert_array_equal(truth.onset_times("vocals"), [0.5, 1.0])
    assert truth.source("notes", "vocals") == "annotations/notes_vocals.csv"
    assert truth.problems == [] and len(truth.files_read) == 4


def test_headerless_tab_separated_csv_in_the_song_folder_reads_equal(tmp_path):
    text = "# chords part\n1.25\t2.0\t67.5\n\n0.5\t1.0\t64\n0.5 1.0 60\n"
    _write(tmp_path, "notes_chords.csv", text)
    _write(tmp_path, "onsets_drums.csv", "0.25\n0.75\n")
    _write(tmp_path, "f0_bass.csv", "0.0,0\n0.01,55.0\n0.02,-55.0\n")  # negative: unvoiced
    truth = load_annotations(tmp_path)
    assert _notes(truth, "chords") == NOTES
    assert truth.notes["chords"]["velocity"].null_count() == 3
    assert truth.drum_onsets["time_s"].to_list() == [0.25, 0.75]
    assert truth.f0["bass"]["f0_hz"].to_list() == [0.0, 55.0, -55.0]
    assert truth.source("notes", "chords") == "notes_chords.csv"


def _jams_document(tmp_path):
    """A JAMS file made with the ``jams`` package: chords notes (note_midi), a bass contour
    (pitch_contour), drum onsets, vocals notes in Hz, and a beat annotation (not read)."""
    doc = jams.JAMS()
    doc.file_metadata.duration = 3.0
    chords = jams.Annotation(namespace="note_midi", sandbox={"part": "chords"})
    for on, off, pitch in NOTES:
        chords.append(time=on, duration=off - on, value=pitch, confidence=0.9)
    bass = jams.Annotation(namespace="pitch_contour", sandbox={"part": "bass"})
    for k, (hz, voiced) in enumerate([(55.0, True), (55.0, True), (110.0, False)]):
        bass.append(time=k * 0.01, duration=0.0, value={"index": 0, "frequency": hz,
                                                        "voiced": voiced})  # fmt: skip
    drums = jams.Annotation(namespace="onset", sandbox={"part": "drums"})
    for t in (0.0, 0.5, 1.0):
        drums.append(time=t, duration=0.0)
    vocals = jams.Annotation(namespace="note_hz", sandbox={"part": "vocals"})
    vocals.append(time=1.0, duration=0.5, value=440.0)
    beats = jams.Annotation(namespace="beat")
    beats.append(time=0.0, duration=0.0, value=1)
    doc.annotations.extend([chords, bass, drums, vocals, beats])
    path = tmp_path / "annotations" / "song.jams"
    path.parent.mkdir(parents=True)
    doc.save(str(path))
    return path


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_jams_file_with_known_notes_reads_back_equal(tmp_path):
    _jams_document(tmp_path)
    truth = load_annotations(tmp_path)
    assert truth.problems == [], truth.problems
    assert _notes(truth, "chords") == NOTES
    assert truth.notes["chords"]["velocity"].to_list() == [0.9, 0.9, 0.9]
    assert _notes(truth, "vocals") == [(1.0, 1.5, 69.0)]
    assert truth.f0["bass"].rows() == [(0.0, 55.0), (0.01, 55.0), (0.02, 0.0)]
    assert truth.drum_onsets["time_s"].to_list() == [0.0, 0.5, 1.0]
    assert set(truth.sources.values()) == {"annotations/song.jams"}


def test_a_part_file_gives_its_part_and_the_dense_layout_reads(tmp_path):
    dense = {"annotations": [{"namespace": "note_midi", "data": {
        "time": [0.5, 0.5, 1.25], "duration": [0.5, 0.5, 0.75], "value": [60, 64, 67.5],
        "confidence": [None, None, None]}}]}  # fmt: skip
    _write(tmp_path, "chords.jams", json.dumps(dense))
    truth = load_annotations(tmp_path)
    assert _notes(truth, "chords") == NOTES


@pytest.mark.parametrize(
    "name, text, reason",
    [
        ("notes_bass.csv", "0.5,1.0,40\n1.5,1.2,41\n", "line 2: offset 1.2 s is not after onset"),
        ("notes_bass.csv", "0.5,1.0\n", "line 1: 2 columns, notes need 3"),
        ("f0_vocals.csv", "0.0,100\n0.0,110\n", "line 2: frame times must increase"),
        ("onsets_drums.csv", "t\nsoon\n", "line 2: 'soon' is not a number"),
        ("song.jams", '{"annotations": [{"namespace": "onset", "data": []}]}',
         "annotation 0 (onset) names no part (sandbox.part)"),
        ("bass.jams", "{not json", "not JSON"),
        ("song.json", "[1, 2]", "not a JSON object"),
    ],
)  # fmt: skip
def test_an_unreadable_file_is_left_out_with_a_one_line_reason(tmp_path, name, text, reason):
    _write(tmp_path / "annotations", name, text)
    _write(tmp_path / "annotations", "notes_vocals.csv", "0.5,1.0,60\n")
    truth = load_annotations(tmp_path)
    (problem,) = truth.problems
    assert problem.startswith(f"annotations/{name}: ") and reason in problem
    assert "\n" not in problem
    assert set(truth.notes) == {"vocals"}  # the readable file is still read
    assert "1 unreadable" in truth.status()


def test_the_same_part_from_two_files_keeps_the_first(tmp_path):
    _write(tmp_path / "annotations", "notes_bass.csv", "0.5,1.0,40\n")
    _write(tmp_path, "notes_bass.csv", "0.5,1.0,41\n")
    truth = load_annotations(tmp_path)
    assert truth.notes["bass"]["midi_pitch"].to_list() == [40]
    assert truth.problems == [
        "notes_bass.csv: notes of bass already read from annotations/notes_bass.csv"
    ]


def test_a_folder_without_readable_annotations_says_so(tmp_path):
    song = tmp_path / "song"
    _write(song, "mixture.wav", "")  # only the name matters here
    _write(song, "melody.csv", "0.0,220\n")  # not a documented name
    assert not has_annotations(song)
    truth = load_annotations(song)
    assert not truth.has_truth and truth.found_any
    assert truth.notes == {} and truth.f0 == {} and truth.drum_onsets.is_empty()
    assert truth.status() == f"none readable in {song}; ignored (not in the format): melody.csv"
    (song / "melody.csv").unlink()
    (song / "annotations").mkdir()
    assert not load_annotations(song).found_any
    assert load_annotations(song).status() == f"none readable in {song}"


def test_only_a_mixture_has_a_song_folder(tmp_path):
    assert song_folder(tmp_path / "song" / "mixture.flac") == tmp_path / "song"
    assert song_folder(tmp_path / "album" / "track01.wav") is None


def test_demo_songs_write_the_format(tmp_path):
    from demodata import write_demo_songs

    (song,) = write_demo_songs(tmp_path, n_songs=1, seed=3, duration_s=4.0)
    truth = load_annotations(song)
    assert set(truth.notes) == {"vocals", "bass", "chords"} and set(truth.f0) == {"vocals", "bass"}
    assert truth.metadata["format_version"] == 2
    assert truth.part_stems == {"vocals": "vocals", "bass": "bass", "chords": "other",
                                "drums": "drums"}  # fmt: skip
    assert not truth.drum_onsets.is_empty() and truth.problems == [] and truth.ignored == []
    hop = truth.metadata["f0_hop_s"]
    assert np.diff(truth.f0["bass"]["time_s"].to_numpy()) == pytest.approx(hop)
