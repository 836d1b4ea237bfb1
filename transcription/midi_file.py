"""Standard MIDI File export of a stem's note events.

Conventions: one track (SMF format 0), 480 ticks per quarter note and a fixed tempo of
120 bpm, so one tick is exactly 1/960 s and a time ``t`` seconds is written at tick
``round(t * 960)`` (rounding error at most 0.52 ms; a note lasts at least one tick).
All notes go to channel 0 with the General MIDI program chosen from the stem name
(:data:`STEM_PROGRAMS`); velocities come from the ``velocity`` proxy of the ``notes``
table (:mod:`features.notes`) clipped to 1..127. At equal ticks note-offs are written
before note-ons, so a repeated pitch re-attacks instead of being cut short.

A stem without notes still gets a valid file: track name, tempo, program change and
end of track.
"""

from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import polars as pl

from atomicfile import atomic_write_bytes

TICKS_PER_QUARTER = 480
TEMPO_BPM = 120
MICROSECONDS_PER_QUARTER = 60_000_000 // TEMPO_BPM
TICKS_PER_SECOND = TICKS_PER_QUARTER * TEMPO_BPM // 60  # 960: one tick = 1/960 s
MIDI_CHANNEL = 0
STEM_PROGRAMS = {"vocals": 53, "bass": 33}  # GM (0-based): Voice Oohs, Electric Bass (finger)
DEFAULT_PROGRAM = 0  # Acoustic Grand Piano


def program_for_stem(stem: str) -> int:
    """General MIDI program (0-based) for a stem: vocals 53, bass 33, anything else 0."""
    return STEM_PROGRAMS.get(stem, DEFAULT_PROGRAM)


def seconds_to_ticks(seconds: np.ndarray) -> np.ndarray:
    """Absolute MIDI ticks of times in seconds at 120 bpm and 480 ticks per quarter."""
    return np.round(np.asarray(seconds, dtype=np.float64) * TICKS_PER_SECOND).astype(np.int64)


def _note_events(notes: pl.DataFrame) -> list[tuple[int, int, int, int]]:
    """``(tick, order, pitch, velocity)`` per note-on/off; order 0 = off, 1 = on."""
    on = seconds_to_ticks(notes["onset_s"].to_numpy())
    off = np.maximum(seconds_to_ticks(notes["offset_s"].to_numpy()), on + 1)
    pitch = notes["midi_pitch"].to_numpy().astype(int)
    velocity = np.clip(notes["velocity"].to_numpy().astype(int), 1, 127)
    events = [(int(t), 1, int(p), int(v)) for t, p, v in zip(on, pitch, velocity, strict=True)]
    events += [(int(t), 0, int(p), 0) for t, p in zip(off, pitch, strict=True)]
    return sorted(events)


def notes_to_midi(notes: pl.DataFrame, *, stem: str, track_name: str = "") -> mido.MidiFile:
    """Build a one-track MIDI file from a ``notes`` table.

    Parameters
    ----------
    notes : polars.DataFrame
        Needs ``onset_s``, ``offset_s`` (seconds), ``midi_pitch`` (0..127) and
        ``velocity``; other columns are ignored. May be empty.
    stem : str
        Stem name, picks the program (:func:`program_for_stem`).
    track_name : str, optional
        Written as the track name meta message (defaults to ``stem``).

    Returns
    -------
    mido.MidiFile
        Format 0, 480 ticks per quarter, tempo 120 bpm.
    """
    if notes.height and not notes["midi_pitch"].is_between(0, 127).all():
        raise ValueError("midi_pitch must lie in 0..127")
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=track_name or stem, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=MICROSECONDS_PER_QUARTER, time=0))
    track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0))
    track.append(
        mido.Message("program_change", channel=MIDI_CHANNEL, program=program_for_stem(stem), time=0)
    )
    now = 0
    for tick, order, pitch, velocity in _note_events(notes):
        kind = "note_on" if order else "note_off"
        track.append(
            mido.Message(kind, channel=MIDI_CHANNEL, note=pitch, velocity=velocity, time=tick - now)
        )
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_QUARTER)
    midi.tracks.append(track)
    return midi


def write_midi(path: Path, notes: pl.DataFrame, *, stem: str, track_name: str = "") -> Path:
    """Write the notes as a Standard MIDI File at ``path`` (atomically); return ``path``."""
    buffer = io.BytesIO()
    notes_to_midi(notes, stem=stem, track_name=track_name).save(file=buffer)
    return atomic_write_bytes(path, buffer.getvalue())
