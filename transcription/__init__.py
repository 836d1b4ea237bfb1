"""Transcription-prep exports of every stem, for training transcription models.

For one stem of one track, :func:`write_transcription_bundle` writes, atomically:

- ``<stem>.mid``: the notes as a Standard MIDI File (format 0, 480 ticks per quarter,
  120 bpm, so tick = 1/960 s) on the stem's channel with its General MIDI program
  (:mod:`.general_midi`); chords are simultaneous notes; the ``drums`` stem is written as
  GM percussion keys on channel 10 from its onsets (:mod:`.drum_hits`);
- ``<stem>_notes.parquet``: the note table, units in the column names;
- ``<stem>_<rate>hz_mono.flac``: the stem, mono, resampled with soxr, 16-bit FLAC;
- ``<stem>.jams``: ``note_midi``, ``pitch_contour`` and ``onset`` annotations (JAMS 0.3).

For the whole track, :func:`write_multitrack_midi` writes one format-1 MIDI file with a MIDI
track per stem (:mod:`.multitrack`), and :func:`write_manifest` / :func:`read_manifest` keep
one Parquet row per (track_id, stem, model) with paths relative to the manifest and the
files' SHA-256. Times are seconds from the start of the stem, frequencies Hz, pitches MIDI
numbers (A4 = 69). Inputs are the ``notes``, ``pitch`` and ``onsets`` tables of
:mod:`features`. This package never imports Dagster.
"""

from transcription.bundle import (
    DEFAULT_TARGET_RATE,
    TranscriptionBundle,
    bundle_file_names,
    write_transcription_bundle,
)
from transcription.general_midi import (
    PERCUSSION_CHANNEL,
    STEM_VOICES,
    is_percussion,
    program_for_stem,
    stem_channels,
)
from transcription.manifest import MANIFEST_SCHEMA, read_manifest, write_manifest
from transcription.midi_file import TICKS_PER_SECOND, notes_to_midi
from transcription.multitrack import TrackMidi, multitrack_midi, write_multitrack_midi

__all__ = [
    "DEFAULT_TARGET_RATE",
    "MANIFEST_SCHEMA",
    "PERCUSSION_CHANNEL",
    "STEM_VOICES",
    "TICKS_PER_SECOND",
    "TrackMidi",
    "TranscriptionBundle",
    "bundle_file_names",
    "is_percussion",
    "multitrack_midi",
    "notes_to_midi",
    "program_for_stem",
    "read_manifest",
    "stem_channels",
    "write_manifest",
    "write_multitrack_midi",
    "write_transcription_bundle",
]
