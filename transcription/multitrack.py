"""The multi-track MIDI file of one track: every stem's notes in one Standard MIDI File.

Layout (SMF format 1, 480 ticks per quarter, 120 bpm: the timing of :mod:`.midi_file`):

- MIDI track 0, the conductor: track name ``<track_id> (<model>)``, tempo, time signature;
- then one MIDI track per stem, in the order of the bundles given (the stems table's order):
  track name = stem name, a program change and the notes on the stem's own channel, exactly
  the messages of the stem's own ``<stem>.mid`` (:func:`~.midi_file.voice_messages`), read
  from the note table the stem's bundle wrote.

Channels and programs are the bundles' (:mod:`.general_midi`): each stem has its own channel,
``drums`` is on the percussion channel 10 (0-based 9) with GM percussion keys, and no other
stem uses that channel. A silent stem keeps its (empty) track, so the file always has one
MIDI track per stem plus the conductor.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import mido
import polars as pl

from atomicfile import atomic_write_bytes
from transcription.bundle import TranscriptionBundle
from transcription.general_midi import PERCUSSION_CHANNEL
from transcription.midi_file import TICKS_PER_QUARTER, midi_bytes, tempo_messages, voice_messages


@dataclass(frozen=True)
class TrackMidi:
    """The multi-track MIDI file of one track.

    Attributes
    ----------
    track_id, model : str
        Identity of the track.
    path : pathlib.Path
        The file.
    stems : tuple of str
        The stems, in the order of their MIDI tracks (1, 2, ...).
    n_notes : int
        Notes over all stems.
    """

    track_id: str
    model: str
    path: Path
    stems: tuple[str, ...]
    n_notes: int


def _check_bundles(bundles: Sequence[TranscriptionBundle]) -> None:
    if not bundles:
        raise ValueError("a multi-track MIDI file needs at least one stem")
    keys = {(b.track_id, b.model) for b in bundles}
    if len(keys) != 1:
        raise ValueError(f"bundles of several tracks or models: {sorted(keys)}")
    channels = {b.stem: b.midi_channel for b in bundles}
    if len(set(channels.values())) != len(bundles):
        raise ValueError(f"stems share MIDI channels: {channels}")
    misplaced = [b.stem for b in bundles if (b.midi_channel == PERCUSSION_CHANNEL) != b.percussion]
    if misplaced:
        raise ValueError(f"only percussion may use channel 10 and must: {misplaced}")


def multitrack_midi(
    bundles: Sequence[TranscriptionBundle], notes: Sequence[pl.DataFrame]
) -> mido.MidiFile:
    """The format-1 MIDI file of one track's stems (module layout).

    Parameters
    ----------
    bundles : sequence of TranscriptionBundle
        The stems of one track and model, with distinct channels.
    notes : sequence of polars.DataFrame
        The note table of each bundle, in the same order.
    """
    _check_bundles(bundles)
    first = bundles[0]
    conductor = mido.MidiTrack()
    conductor.append(
        mido.MetaMessage("track_name", name=f"{first.track_id} ({first.model})", time=0)
    )
    conductor.extend(tempo_messages())
    conductor.append(mido.MetaMessage("end_of_track", time=0))
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    midi.tracks.append(conductor)
    for bundle, table in zip(bundles, notes, strict=True):
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=bundle.stem, time=0))
        track.extend(
            voice_messages(table, channel=bundle.midi_channel, program=bundle.midi_program)
        )
        track.append(mido.MetaMessage("end_of_track", time=0))
        midi.tracks.append(track)
    return midi


def write_multitrack_midi(path: Path, bundles: Sequence[TranscriptionBundle]) -> TrackMidi:
    """Write the multi-track MIDI file of one track's stems at ``path`` (atomically).

    Parameters
    ----------
    path : pathlib.Path
        The file (the storage layout puts it next to the stems' files); it must not be one of
        the bundles' own files.
    bundles : sequence of TranscriptionBundle
        What :func:`~transcription.bundle.write_transcription_bundle` returned for every stem
        of the track; their note tables are read back from their files.

    Returns
    -------
    TrackMidi
    """
    path = Path(path)
    _check_bundles(bundles)
    if any(path.resolve() == p.resolve() for b in bundles for p in b.paths.values()):
        raise ValueError(f"{path} is a stem's own file")
    notes = [pl.read_parquet(b.notes_path) for b in bundles]
    midi = multitrack_midi(bundles, notes)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, midi_bytes(midi))
    return TrackMidi(
        track_id=bundles[0].track_id,
        model=bundles[0].model,
        path=path,
        stems=tuple(b.stem for b in bundles),
        n_notes=sum(t.height for t in notes),
    )
