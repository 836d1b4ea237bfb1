"""MIDI export: read back with mido and compare times (+-1 ms), pitches, velocities."""

from __future__ import annotations

import mido
import numpy as np
import polars as pl
import pytest

from features.notes import empty_notes
from tests.transcription.conftest import KNOWN_NOTES
from transcription.midi_file import (
    TICKS_PER_QUARTER,
    notes_to_midi,
    program_for_stem,
    seconds_to_ticks,
    write_midi,
)


def read_notes(path) -> tuple[list[tuple[float, float, int, int]], list[mido.Message]]:
    """Notes ``(onset_s, offset_s, pitch, velocity)`` and all messages of a MIDI file."""
    midi = mido.MidiFile(path)
    assert midi.ticks_per_beat == TICKS_PER_QUARTER
    assert len(midi.tracks) == 1
    now, open_notes, notes, messages = 0.0, {}, [], []
    for message in midi:  # iterating a MidiFile yields delta times in seconds
        now += message.time
        messages.append(message)
        if message.type == "note_on" and message.velocity > 0:
            open_notes[message.note] = (now, message.velocity)
        elif message.type in ("note_off", "note_on"):
            start, velocity = open_notes.pop(message.note)
            notes.append((start, now, message.note, velocity))
    assert not open_notes
    return sorted(notes), messages


def test_round_trip_times_pitches_velocities(tmp_path, notes):
    path = write_midi(tmp_path / "vocals.mid", notes, stem="vocals")
    got, messages = read_notes(path)
    assert len(got) == len(KNOWN_NOTES)
    for (on, off, pitch, velocity), expected in zip(got, KNOWN_NOTES, strict=True):
        assert on == pytest.approx(expected[0], abs=1e-3)
        assert off == pytest.approx(expected[1], abs=1e-3)
        assert (pitch, velocity) == (expected[2], expected[3])
    tempo = [m.tempo for m in messages if m.type == "set_tempo"]
    assert tempo == [500_000]  # 120 bpm
    assert [m.program for m in messages if m.type == "program_change"] == [53]


def test_repeated_pitch_releases_before_reattack(tmp_path, notes):
    _, messages = read_notes(write_midi(tmp_path / "v.mid", notes, stem="vocals"))
    kinds = [(m.type, m.note) for m in messages if m.type.startswith("note")]
    # the note ending at 0.50 s is released before the same pitch starts again
    assert kinds[:4] == [("note_on", 69), ("note_off", 69), ("note_on", 69), ("note_off", 69)]


@pytest.mark.parametrize(
    ("stem", "program", "channel"),
    [
        ("vocals", 53, 0),
        ("accompaniment", 0, 1),
        ("bass", 33, 2),
        ("other", 27, 3),
        ("piano", 0, 4),
        ("drums", 0, 9),
        ("guitar", 0, 0),
    ],
)
def test_program_and_channel_by_stem(stem, program, channel):
    assert program_for_stem(stem) == program
    midi = notes_to_midi(empty_notes(), stem=stem)
    changes = [m for m in midi.tracks[0] if m.type == "program_change"]
    assert [(m.program, m.channel) for m in changes] == [(program, channel)]


def test_chord_gives_simultaneous_notes(tmp_path, triad):
    path = write_midi(tmp_path / "piano.mid", triad, stem="piano")
    got, messages = read_notes(path)
    chord = [n for n in got if n[0] == pytest.approx(0.2, abs=1e-3)]
    assert sorted(n[2] for n in chord) == [60, 64, 67]
    assert all(n[1] == pytest.approx(1.2, abs=1e-3) for n in chord)
    assert {m.channel for m in messages if m.type.startswith("note")} == {4}


def test_pitch_bend_is_optional_and_follows_f0(tmp_path, notes):
    assert not [m for m in notes_to_midi(notes, stem="vocals").tracks[0] if m.type == "pitchwheel"]
    sharp = notes.with_columns(  # +50 cents on the first note, -25 on the last
        f0_mean_hz=pl.Series([440.0 * 2 ** (0.5 / 12), 440.0, 523.2511 * 2 ** (-0.25 / 12)])
    )
    midi = notes_to_midi(sharp, stem="vocals", pitch_bend=True)
    track = [m for m in midi.tracks[0] if m.type in ("pitchwheel", "note_on")]
    wheels = [m.pitch for m in track if m.type == "pitchwheel"]
    # one bend before each note-on (range +-2 semitones: 8192 per 2), then back to centre
    assert [m.type for m in track[:2]] == ["pitchwheel", "note_on"]
    assert wheels[0] == 2048 and abs(wheels[1]) <= 1 and wheels[2] == pytest.approx(-1024, abs=1)
    assert wheels[-1] == 0 and len(wheels) == 4
    got, _ = read_notes(write_midi(tmp_path / "b.mid", sharp, stem="vocals", pitch_bend=True))
    assert [n[2] for n in got] == [69, 69, 72]


def test_pitch_bend_refused_for_overlapping_notes(triad):
    with pytest.raises(ValueError, match="overlap"):
        notes_to_midi(triad, stem="piano", pitch_bend=True)
    assert notes_to_midi(triad, stem="piano").tracks[0]  # without bends a chord is fine


def test_velocity_clipped_and_short_note_kept(tmp_path):
    notes = pl.DataFrame(
        {
            "onset_s": [0.0, 1.0],
            "offset_s": [0.0002, 1.5],
            "midi_pitch": [40, 41],
            "velocity": [0, 300],
        },
        schema={
            "onset_s": pl.Float64,
            "offset_s": pl.Float64,
            "midi_pitch": pl.Int32,
            "velocity": pl.Int32,
        },
    )
    got, _ = read_notes(write_midi(tmp_path / "b.mid", notes, stem="bass"))
    assert [n[3] for n in got] == [1, 127]
    assert got[0][1] > got[0][0]  # at least one tick long


def test_empty_notes_give_valid_file(tmp_path):
    path = write_midi(tmp_path / "silent.mid", empty_notes(), stem="vocals")
    got, messages = read_notes(path)
    assert got == []
    assert messages[-1].type == "end_of_track"


def test_pitch_out_of_range_rejected():
    bad = pl.DataFrame({"onset_s": [0.0], "offset_s": [1.0], "midi_pitch": [128], "velocity": [10]})
    with pytest.raises(ValueError, match="midi_pitch"):
        notes_to_midi(bad, stem="bass")


def test_ticks_are_exact_at_120_bpm():
    assert seconds_to_ticks(np.array([0.0, 0.5, 1.0, 60.0])).tolist() == [0, 480, 960, 57600]
