"""Standard MIDI File export of a stem's note events.

Conventions: 480 ticks per quarter note and a fixed tempo of 120 bpm, so one tick is exactly
1/960 s and a time ``t`` seconds is written at tick ``round(t * 960)`` (rounding error at most
0.52 ms; a note lasts at least one tick). A stem's file is one track (SMF format 0) on the
stem's channel with the stem's General MIDI program (:mod:`.general_midi`: ``drums`` on the
percussion channel 10, its notes GM percussion keys); velocities come from the ``velocity``
column clipped to 1..127. At equal ticks note-offs are written before note-ons, so a repeated
pitch re-attacks instead of being cut short. The multi-track file of a track
(:mod:`.multitrack`) is built from the same per-stem messages (:func:`voice_messages`).

Pitch bend is optional (``pitch_bend=True``, off by default): before each note-on a pitch-wheel
message sets the channel to the note's own pitch, the distance of ``f0_mean_hz`` from
``midi_pitch`` (the basic-pitch notes carry their bend there) at the GM default bend range of
+-2 semitones, and the wheel returns to centre after the last note. A channel has one wheel, so
this needs notes that do not overlap (a monophonic stem) and is refused otherwise.

A stem without notes still gets a valid file: track name, tempo, program change and end of
track.
"""

from __future__ import annotations

import io
from pathlib import Path

import mido
import numpy as np
import polars as pl

from atomicfile import atomic_write_bytes
from transcription.general_midi import program_for_stem, stem_channels

TICKS_PER_QUARTER = 480
TEMPO_BPM = 120
MICROSECONDS_PER_QUARTER = 60_000_000 // TEMPO_BPM
TICKS_PER_SECOND = TICKS_PER_QUARTER * TEMPO_BPM // 60  # 960: one tick = 1/960 s
#: Pitch-bend sensitivity players assume without an RPN 0 message (GM default), semitones.
BEND_RANGE_SEMITONES = 2.0
_OFF, _BEND, _ON, _RESET = 0, 1, 2, 3  # order of events at one tick

__all__ = [
    "TICKS_PER_SECOND",
    "midi_bytes",
    "notes_to_midi",
    "program_for_stem",
    "seconds_to_ticks",
    "tempo_messages",
    "voice_messages",
    "write_midi",
]


def seconds_to_ticks(seconds: np.ndarray) -> np.ndarray:
    """Absolute MIDI ticks of times in seconds at 120 bpm and 480 ticks per quarter."""
    return np.round(np.asarray(seconds, dtype=np.float64) * TICKS_PER_SECOND).astype(np.int64)


def _bend_values(notes: pl.DataFrame, pitch: np.ndarray) -> np.ndarray:
    """Pitch-wheel value (-8192..8191) per note from ``f0_mean_hz``; 0 where it is null."""
    if "f0_mean_hz" not in notes.columns:
        raise ValueError("pitch bend needs the f0_mean_hz column")
    f0 = notes["f0_mean_hz"].cast(pl.Float64).fill_null(0.0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        semitones = np.where(f0 > 0, 12.0 * np.log2(f0 / 440.0) + 69.0 - pitch, 0.0)
    return np.clip(np.round(semitones / BEND_RANGE_SEMITONES * 8192), -8192, 8191).astype(int)


def _note_events(notes: pl.DataFrame, pitch_bend: bool) -> list[tuple[int, int, int, int]]:
    """``(tick, order, pitch, value)`` per event; value is the velocity or the wheel value."""
    on = seconds_to_ticks(notes["onset_s"].to_numpy())
    off = np.maximum(seconds_to_ticks(notes["offset_s"].to_numpy()), on + 1)
    pitch = notes["midi_pitch"].to_numpy().astype(int)
    velocity = np.clip(notes["velocity"].to_numpy().astype(int), 1, 127)
    events = [(int(t), _ON, int(p), int(v)) for t, p, v in zip(on, pitch, velocity, strict=True)]
    events += [(int(t), _OFF, int(p), 0) for t, p in zip(off, pitch, strict=True)]
    if pitch_bend and on.size:
        order = np.argsort(on, kind="stable")
        if (on[order][1:] < off[order][:-1]).any():
            raise ValueError("pitch bend needs notes that do not overlap (one wheel per channel)")
        bends = _bend_values(notes, pitch)
        events += [(int(t), _BEND, 0, int(b)) for t, b in zip(on, bends, strict=True)]
        events.append((int(off.max()), _RESET, 0, 0))
    return sorted(events)


def voice_messages(
    notes: pl.DataFrame, *, channel: int, program: int, pitch_bend: bool = False
) -> list[mido.Message]:
    """The program change and note messages of one stem on one channel (delta times in ticks).

    Parameters
    ----------
    notes : polars.DataFrame
        Needs ``onset_s``, ``offset_s`` (seconds), ``midi_pitch`` (0..127) and ``velocity``
        (``f0_mean_hz`` too with ``pitch_bend``); other columns are ignored. May be empty.
    channel, program : int
        MIDI channel (0..15) and General MIDI program (0..127), 0-based.
    pitch_bend : bool, optional
        Write each note's bend (module doc); needs non-overlapping notes.
    """
    if not 0 <= channel < 16 or not 0 <= program < 128:
        raise ValueError(f"channel {channel} or program {program} out of range")
    if notes.height and not notes["midi_pitch"].is_between(0, 127).all():
        raise ValueError("midi_pitch must lie in 0..127")
    messages = [mido.Message("program_change", channel=channel, program=program, time=0)]
    now = 0
    for tick, order, pitch, value in _note_events(notes, pitch_bend):
        if order in (_BEND, _RESET):
            message = mido.Message("pitchwheel", channel=channel, pitch=value, time=tick - now)
        else:
            kind = "note_on" if order == _ON else "note_off"
            message = mido.Message(
                kind, channel=channel, note=pitch, velocity=value, time=tick - now
            )
        messages.append(message)
        now = tick
    return messages


def tempo_messages() -> list[mido.MetaMessage]:
    """Tempo (120 bpm) and 4/4 time signature at tick 0."""
    return [
        mido.MetaMessage("set_tempo", tempo=MICROSECONDS_PER_QUARTER, time=0),
        mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
    ]


def notes_to_midi(
    notes: pl.DataFrame,
    *,
    stem: str,
    track_name: str = "",
    channel: int | None = None,
    pitch_bend: bool = False,
) -> mido.MidiFile:
    """Build the one-track MIDI file of a stem from its note table.

    Parameters
    ----------
    notes : polars.DataFrame
        See :func:`voice_messages`; for ``drums`` the GM percussion notes.
    stem : str
        Stem name, picks the program (:func:`~transcription.general_midi.program_for_stem`).
    track_name : str, optional
        Written as the track name meta message (defaults to ``stem``).
    channel : int, optional
        MIDI channel, 0-based; default the stem's own
        (:func:`~transcription.general_midi.stem_channels`).
    pitch_bend : bool, optional
        Write each note's pitch bend (module doc).

    Returns
    -------
    mido.MidiFile
        Format 0, 480 ticks per quarter, tempo 120 bpm.
    """
    channel = stem_channels([stem])[stem] if channel is None else channel
    track = mido.MidiTrack()
    track.append(mido.MetaMessage("track_name", name=track_name or stem, time=0))
    track.extend(tempo_messages())
    track.extend(
        voice_messages(
            notes, channel=channel, program=program_for_stem(stem), pitch_bend=pitch_bend
        )
    )
    track.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=0, ticks_per_beat=TICKS_PER_QUARTER)
    midi.tracks.append(track)
    return midi


def midi_bytes(midi: mido.MidiFile) -> bytes:
    """The bytes of a MIDI file as it is saved."""
    buffer = io.BytesIO()
    midi.save(file=buffer)
    return buffer.getvalue()


def write_midi(
    path: Path,
    notes: pl.DataFrame,
    *,
    stem: str,
    track_name: str = "",
    channel: int | None = None,
    pitch_bend: bool = False,
) -> Path:
    """Write the notes as a Standard MIDI File at ``path`` (atomically, see
    :func:`notes_to_midi`); return ``path``."""
    midi = notes_to_midi(
        notes, stem=stem, track_name=track_name, channel=channel, pitch_bend=pitch_bend
    )
    return atomic_write_bytes(path, midi_bytes(midi))
