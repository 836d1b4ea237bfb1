"""The dataset manifest: one Parquet row per exported (track_id, stem, model).

Table ``manifest.parquet``:

==================  =======  =======================================================
column              type     meaning
==================  =======  =======================================================
track_id            String   track identity
stem                String   stem name
model               String   separation model
midi_path           String   ``<stem>.mid``, relative to the manifest's folder (POSIX)
notes_path          String   ``<stem>_notes.parquet``, relative (POSIX)
audio_path          String   ``<stem>_<rate>hz_mono.flac``, relative (POSIX)
jams_path           String   ``<stem>.jams``, relative (POSIX)
multitrack_path     String   the track's multi-track MIDI file (:mod:`.multitrack`),
                             relative (POSIX), the same on every row of the track;
                             null when none was written
midi_sha256         String   hex SHA-256 of the file of ``midi_path``, and likewise
notes_sha256                 for the other files (read back as written; null with
audio_sha256                 a null path)
jams_sha256
multitrack_sha256
duration_s          Float64  length of the stem, seconds
sample_rate         Int32    rate of the mono FLAC, Hz
n_samples           Int64    samples in the mono FLAC
n_notes             Int32    notes (0 for a silent stem; drum hits for ``drums``)
n_voiced_frames     Int32    voiced frames of the pitch table
n_onsets            Int32    onsets
midi_min            Int32    lowest MIDI pitch; null without notes
midi_max            Int32    highest MIDI pitch; null without notes
midi_channel        Int32    the stem's MIDI channel, 0-based (9: percussion)
midi_program        Int32    the stem's General MIDI program, 0-based
percussion          Boolean  notes are GM percussion keys (the ``drums`` stem)
==================  =======  =======================================================

Rows are sorted by ``(model, track_id, stem)``. Paths are relative so the whole export
folder can be moved or synced to object storage as one unit; the checksums let a copy be
verified file by file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import polars as pl

from atomicfile import atomic_path
from transcription.bundle import TranscriptionBundle
from transcription.multitrack import TrackMidi

FILE_KINDS = ("midi", "notes", "audio", "jams", "multitrack")
MANIFEST_SCHEMA = {
    "track_id": pl.String,
    "stem": pl.String,
    "model": pl.String,
    **{f"{kind}_path": pl.String for kind in FILE_KINDS},
    **{f"{kind}_sha256": pl.String for kind in FILE_KINDS},
    "duration_s": pl.Float64,
    "sample_rate": pl.Int32,
    "n_samples": pl.Int64,
    "n_notes": pl.Int32,
    "n_voiced_frames": pl.Int32,
    "n_onsets": pl.Int32,
    "midi_min": pl.Int32,
    "midi_max": pl.Int32,
    "midi_channel": pl.Int32,
    "midi_program": pl.Int32,
    "percussion": pl.Boolean,
}
KEY_COLUMNS = ("track_id", "stem", "model")


def _relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _multitracks_by_track(
    bundles: Sequence[TranscriptionBundle], multitracks: Sequence[TrackMidi]
) -> dict[tuple[str, str], TrackMidi]:
    """The multi-track file of each ``(model, track_id)``, checked against the bundles."""
    stems: dict[tuple[str, str], set[str]] = {}
    for b in bundles:
        stems.setdefault((b.model, b.track_id), set()).add(b.stem)
    found = {}
    for track in multitracks:
        key = (track.model, track.track_id)
        if key in found:
            raise ValueError(f"two multi-track files for track {track.track_id} ({track.model})")
        if set(track.stems) != stems.get(key, set()):
            raise ValueError(
                f"multi-track file of {track.track_id} ({track.model}) holds stems "
                f"{sorted(track.stems)}, the bundles {sorted(stems.get(key, set()))}"
            )
        found[key] = track
    return found


def manifest_frame(
    bundles: Sequence[TranscriptionBundle],
    root: Path,
    multitracks: Sequence[TrackMidi] = (),
) -> pl.DataFrame:
    """The manifest table of ``bundles`` (and their tracks' ``multitracks``) with file paths
    relative to ``root`` and the files' checksums.

    Raises
    ------
    ValueError
        If two bundles share a ``(track_id, stem, model)`` key, or a multi-track file repeats
        a track or does not hold exactly that track's stems.
    """
    by_track = _multitracks_by_track(bundles, multitracks)
    digests: dict[Path, str] = {}

    def digest(path: Path) -> str:
        if path not in digests:
            digests[path] = file_sha256(path)
        return digests[path]

    rows = []
    for b in bundles:
        track = by_track.get((b.model, b.track_id))
        files = {**b.paths, "multitrack": track.path if track else None}
        rows.append(
            {
                "track_id": b.track_id,
                "stem": b.stem,
                "model": b.model,
                **{f"{k}_path": _relative(p, root) if p else None for k, p in files.items()},
                **{f"{k}_sha256": digest(p) if p else None for k, p in files.items()},
                "duration_s": b.duration_s,
                "sample_rate": b.sample_rate,
                "n_samples": b.n_samples,
                "n_notes": b.n_notes,
                "n_voiced_frames": b.n_voiced_frames,
                "n_onsets": b.n_onsets,
                "midi_min": b.midi_min,
                "midi_max": b.midi_max,
                "midi_channel": b.midi_channel,
                "midi_program": b.midi_program,
                "percussion": b.percussion,
            }
        )
    frame = pl.DataFrame(rows, schema=MANIFEST_SCHEMA)
    if frame.select(KEY_COLUMNS).is_duplicated().any():
        raise ValueError("bundles repeat a (track_id, stem, model) key")
    return frame.sort(["model", "track_id", "stem"])


def write_manifest(
    bundles: Sequence[TranscriptionBundle],
    path: Path,
    multitracks: Sequence[TrackMidi] = (),
) -> pl.DataFrame:
    """Write the manifest of ``bundles`` as Parquet at ``path`` (atomically).

    Parameters
    ----------
    bundles : sequence of TranscriptionBundle
        One per exported stem; keys must be unique. May be empty.
    path : pathlib.Path
        Manifest file; file paths in it are relative to its folder (created if missing).
    multitracks : sequence of TrackMidi, optional
        The multi-track MIDI file of each track of ``bundles``
        (:func:`~transcription.multitrack.write_multitrack_midi`); a track without one gets
        null ``multitrack_path``.

    Returns
    -------
    polars.DataFrame
        The table written (schema :data:`MANIFEST_SCHEMA`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = manifest_frame(bundles, path.parent, multitracks)
    with atomic_path(path) as tmp:
        frame.write_parquet(tmp)
    return frame


def read_manifest(path: Path) -> pl.DataFrame:
    """Read a manifest written by :func:`write_manifest`.

    Paths stay relative; resolve them against ``Path(path).parent``.

    Raises
    ------
    ValueError
        If the file lacks a manifest column.
    """
    frame = pl.read_parquet(path)
    missing = [c for c in MANIFEST_SCHEMA if c not in frame.columns]
    if missing:
        raise ValueError(f"{path} is not a transcription manifest (missing {missing})")
    return frame.select(list(MANIFEST_SCHEMA)).cast(MANIFEST_SCHEMA)
