"""The dataset manifest: one Parquet row per exported (track_id, stem, model).

Table ``manifest.parquet``:

===============  =======  ==========================================================
column           type     meaning
===============  =======  ==========================================================
track_id         String   track identity
stem             String   stem name
model            String   separation model
midi_path        String   ``<stem>.mid``, relative to the manifest's folder (POSIX)
notes_path       String   ``<stem>_notes.parquet``, relative (POSIX)
audio_path       String   ``<stem>_<rate>hz_mono.flac``, relative (POSIX)
jams_path        String   ``<stem>.jams``, relative (POSIX)
duration_s       Float64  length of the stem, seconds
sample_rate      Int32    rate of the mono FLAC, Hz
n_samples        Int64    samples in the mono FLAC
n_notes          Int32    notes (0 for a silent stem)
n_voiced_frames  Int32    voiced frames of the pitch table
n_onsets         Int32    onsets
midi_min         Int32    lowest MIDI pitch; null without notes
midi_max         Int32    highest MIDI pitch; null without notes
===============  =======  ==========================================================

Rows are sorted by ``(model, track_id, stem)``. Paths are relative so the whole export
folder can be moved or synced to object storage as one unit.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

from atomicfile import atomic_path
from transcription.bundle import TranscriptionBundle

MANIFEST_SCHEMA = {
    "track_id": pl.String,
    "stem": pl.String,
    "model": pl.String,
    "midi_path": pl.String,
    "notes_path": pl.String,
    "audio_path": pl.String,
    "jams_path": pl.String,
    "duration_s": pl.Float64,
    "sample_rate": pl.Int32,
    "n_samples": pl.Int64,
    "n_notes": pl.Int32,
    "n_voiced_frames": pl.Int32,
    "n_onsets": pl.Int32,
    "midi_min": pl.Int32,
    "midi_max": pl.Int32,
}
KEY_COLUMNS = ("track_id", "stem", "model")


def _relative(path: Path, root: Path) -> str:
    return Path(os.path.relpath(Path(path).resolve(), root.resolve())).as_posix()


def manifest_frame(bundles: list[TranscriptionBundle], root: Path) -> pl.DataFrame:
    """The manifest table of ``bundles`` with file paths relative to ``root``.

    Raises
    ------
    ValueError
        If two bundles share a ``(track_id, stem, model)`` key.
    """
    rows = [
        {
            "track_id": b.track_id,
            "stem": b.stem,
            "model": b.model,
            **{f"{kind}_path": _relative(p, root) for kind, p in b.paths.items()},
            "duration_s": b.duration_s,
            "sample_rate": b.sample_rate,
            "n_samples": b.n_samples,
            "n_notes": b.n_notes,
            "n_voiced_frames": b.n_voiced_frames,
            "n_onsets": b.n_onsets,
            "midi_min": b.midi_min,
            "midi_max": b.midi_max,
        }
        for b in bundles
    ]
    frame = pl.DataFrame(rows, schema=MANIFEST_SCHEMA)
    if frame.select(KEY_COLUMNS).is_duplicated().any():
        raise ValueError("bundles repeat a (track_id, stem, model) key")
    return frame.sort(["model", "track_id", "stem"])


def write_manifest(bundles: list[TranscriptionBundle], path: Path) -> pl.DataFrame:
    """Write the manifest of ``bundles`` as Parquet at ``path`` (atomically).

    Parameters
    ----------
    bundles : list of TranscriptionBundle
        One per exported stem; keys must be unique. May be empty.
    path : pathlib.Path
        Manifest file; file paths in it are relative to its folder (created if missing).

    Returns
    -------
    polars.DataFrame
        The table written (schema :data:`MANIFEST_SCHEMA`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = manifest_frame(bundles, path.parent)
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
