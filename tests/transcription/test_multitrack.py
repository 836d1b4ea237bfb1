"""The multi-track MIDI file of a track: one MIDI track per stem on its own channel and
program, chords as simultaneous notes, drums on channel 10, silent stems as empty tracks."""

from __future__ import annotations

import mido
import numpy as np
import polars as pl
import pytest

from features.notes import empty_notes
from features.onsets import ONSET_SCHEMA, empty_onsets
from features.pitch import empty_pitch_frames
from tests.transcription.conftest import DRUM_PATTERN, SAMPLE_RATE, TRIAD, drum_pattern
from transcription import (
    PERCUSSION_CHANNEL,
    TICKS_PER_SECOND,
    stem_channels,
    write_multitrack_midi,
    write_transcription_bundle,
)
from transcription.midi_file import TICKS_PER_QUARTER

STEMS_4 = ["vocals", "drums", "bass", "other"]


def track_notes(track: mido.MidiTrack) -> list[tuple[int, int, int, int]]:
    """``(onset tick, offset tick, pitch, channel)`` of every note of one MIDI track."""
    now, sounding, notes = 0, {}, []
    for message in track:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            sounding[(message.channel, message.note)] = now
        elif message.type in ("note_on", "note_off"):
            start = sounding.pop((message.channel, message.note))
            notes.append((start, now, message.note, message.channel))
    assert not sounding
    return sorted(notes)


@pytest.fixture
def four_stems(tmp_path, notes, pitch, triad):
    """Bundles of a 4stems track: a melody, a drum pattern, a silent bass, a chord."""
    audio = drum_pattern()
    times = [t for t, _ in DRUM_PATTERN]
    drum_onsets = pl.DataFrame(
        {"time_s": times, "frame": [round(t * 100) for t in times], "strength": [1.0] * 8},
        schema=ONSET_SCHEMA,
    )
    silent = (empty_notes(), empty_pitch_frames(), empty_onsets())
    tables = {
        "vocals": (notes, pitch, empty_onsets()),
        "drums": (empty_notes(), empty_pitch_frames(), drum_onsets),
        "bass": silent,
        "other": (triad, empty_pitch_frames(), empty_onsets()),
    }
    channels = stem_channels(STEMS_4)
    bundles = []
    for stem in STEMS_4:
        stem_notes, stem_pitch, stem_onsets = tables[stem]
        bundles.append(
            write_transcription_bundle(
                tmp_path / "4stems" / "ab12",
                track_id="ab12",
                stem=stem,
                model="4stems",
                audio=audio if stem == "drums" else np.zeros_like(audio),
                sample_rate=SAMPLE_RATE,
                notes=stem_notes,
                pitch=stem_pitch,
                onsets=stem_onsets,
                channel=channels[stem],
            )
        )
    return bundles


def test_one_midi_track_per_stem_with_its_channel_and_program(tmp_path, four_stems):
    written = write_multitrack_midi(tmp_path / "4stems/ab12/multitrack.mid", four_stems)
    assert written.stems == tuple(STEMS_4) and written.track_id == "ab12"
    midi = mido.MidiFile(written.path)
    assert midi.type == 1 and midi.ticks_per_beat == TICKS_PER_QUARTER
    conductor, *tracks = midi.tracks
    assert [m.type for m in conductor] == [
        "track_name",
        "set_tempo",
        "time_signature",
        "end_of_track",
    ]
    assert [t.name for t in tracks] == STEMS_4
    programs = {
        t.name: [(m.channel, m.program) for m in t if m.type == "program_change"] for t in tracks
    }
    assert programs == {
        "vocals": [(0, 53)],
        "drums": [(9, 0)],
        "bass": [(2, 33)],
        "other": [(3, 27)],
    }
    for track in tracks:  # every channel message of a track is on that track's channel
        channels = {m.channel for m in track if not m.is_meta}
        assert channels == {programs[track.name][0][0]}
        assert (PERCUSSION_CHANNEL in channels) == (track.name == "drums")
    assert written.n_notes == 3 + len(DRUM_PATTERN) + 0 + len(TRIAD)


def test_chord_drums_and_silent_stem(tmp_path, four_stems):
    midi = mido.MidiFile(write_multitrack_midi(tmp_path / "m.mid", four_stems).path)
    tracks = {t.name: t for t in midi.tracks[1:]}

    other = track_notes(tracks["other"])
    chord_tick = round(0.2 * TICKS_PER_SECOND)
    chord = [n for n in other if n[0] == chord_tick]
    assert sorted(n[2] for n in chord) == [60, 64, 67]  # C major triad, simultaneous
    assert {n[1] for n in chord} == {round(1.2 * TICKS_PER_SECOND)}
    assert {n[3] for n in other} == {3}

    drums = track_notes(tracks["drums"])
    assert [n[2] for n in drums] == [key for _, key in DRUM_PATTERN]
    assert [n[0] for n in drums] == [round(t * TICKS_PER_SECOND) for t, _ in DRUM_PATTERN]
    assert {n[3] for n in drums} == {PERCUSSION_CHANNEL}

    bass = tracks["bass"]  # silent: a valid, empty track
    assert [m.type for m in bass] == ["track_name", "program_change", "end_of_track"]

    # the stem's own file carries the same notes as its track in the multi-track file
    own = mido.MidiFile(four_stems[3].midi_path).tracks[0]
    assert track_notes(own) == other


def test_two_stems_track(tmp_path, notes, pitch, onsets, triad):
    audio = np.zeros((SAMPLE_RATE * 2, 2), np.float32)
    bundles = [
        write_transcription_bundle(
            tmp_path,
            track_id="ab12",
            stem=stem,
            model="2stems",
            audio=audio,
            sample_rate=SAMPLE_RATE,
            notes=stem_notes,
            pitch=pitch,
            onsets=onsets,
        )
        for stem, stem_notes in (("vocals", notes), ("accompaniment", triad))
    ]
    midi = mido.MidiFile(write_multitrack_midi(tmp_path / "multitrack.mid", bundles).path)
    assert [t.name for t in midi.tracks] == ["ab12 (2stems)", "vocals", "accompaniment"]
    assert {n[3] for n in track_notes(midi.tracks[2])} == {1}
    assert not any(m.channel == PERCUSSION_CHANNEL for t in midi.tracks for m in t if not m.is_meta)


def test_inconsistent_bundles_rejected(tmp_path, four_stems):
    vocals, drums, *_ = four_stems
    clash = write_transcription_bundle(
        tmp_path / "clash",
        track_id="ab12",
        stem="other",
        model="4stems",
        audio=np.zeros(SAMPLE_RATE, np.float32),
        sample_rate=SAMPLE_RATE,
        notes=empty_notes(),
        pitch=empty_pitch_frames(),
        onsets=empty_onsets(),
        channel=vocals.midi_channel,
    )
    with pytest.raises(ValueError, match="share MIDI channels"):
        write_multitrack_midi(tmp_path / "m.mid", [vocals, clash])
    with pytest.raises(ValueError, match="stem's own file"):
        write_multitrack_midi(vocals.midi_path, [vocals, drums])
    with pytest.raises(ValueError, match="at least one"):
        write_multitrack_midi(tmp_path / "m.mid", [])
    with pytest.raises(ValueError, match="MIDI channel 16"):
        write_transcription_bundle(
            tmp_path / "bad",
            track_id="ab12",
            stem="bass",
            model="4stems",
            audio=np.zeros(SAMPLE_RATE, np.float32),
            sample_rate=SAMPLE_RATE,
            notes=empty_notes(),
            pitch=empty_pitch_frames(),
            onsets=empty_onsets(),
            channel=16,
        )
    assert not (tmp_path / "bad").exists()
    assert not (tmp_path / "m.mid").exists()
