"""Transcription-prep exports of monophonic stems, for training transcription models.

For one stem of one track, :func:`write_transcription_bundle` writes, atomically:

- ``<stem>.mid``: the notes as a Standard MIDI File (format 0, 480 ticks per quarter,
  120 bpm, so tick = 1/960 s; program by stem: vocals 53, bass 33, others 0);
- ``<stem>_notes.parquet``: the note table, units in the column names;
- ``<stem>_<rate>hz_mono.flac``: the stem, mono, resampled with soxr, 16-bit FLAC;
- ``<stem>.jams``: ``note_midi``, ``pitch_contour`` and ``onset`` annotations (JAMS 0.3).

:func:`write_manifest` / :func:`read_manifest` keep one Parquet row per
(track_id, stem, model) with paths relative to the manifest. Times are seconds from the
start of the stem, frequencies Hz, pitches MIDI numbers (A4 = 69). Inputs are the
``notes``, ``pitch`` and ``onsets`` tables of :mod:`features`. This package never
imports Dagster.
"""

from transcription.bundle import (
    DEFAULT_TARGET_RATE,
    TranscriptionBundle,
    bundle_file_names,
    write_transcription_bundle,
)
from transcription.manifest import MANIFEST_SCHEMA, read_manifest, write_manifest
from transcription.midi_file import TICKS_PER_SECOND, notes_to_midi, program_for_stem

__all__ = [
    "DEFAULT_TARGET_RATE",
    "MANIFEST_SCHEMA",
    "TICKS_PER_SECOND",
    "TranscriptionBundle",
    "bundle_file_names",
    "notes_to_midi",
    "program_for_stem",
    "read_manifest",
    "write_manifest",
    "write_transcription_bundle",
]
