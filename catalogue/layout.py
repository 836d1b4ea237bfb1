"""Where stemline keeps its outputs, and how it writes them atomically.

Everything lives under one storage root (default ``./data``)::

    inventory/files.parquet                          every input path seen, its hash, status
    tracks/<track_id>.parquet                        decoded metadata or the error of a track
    stems/<model>/<track_id>/<stem>.flac             separated stems
    stems/<model>/<track_id>/stems.parquet           one row per stem (paths, loudness, ...)
    features/<kind>/<track_id>/<model>/<stem>.parquet   pitch, onsets, chroma, notes, summary
    evaluation/<track_id>/<model>.parquet            metrics against reference stems/annotations
    exports/transcription/<model>/<track_id>/...     MIDI, JAMS, note tables, mono stems
    runs/<asset>/<track_id>.parquet                  the Dagster run that last wrote each asset
    catalogue.duckdb                                 DuckDB views over all of the above

Paths are built from track ids (hex digests) and model names (validated), never from input file
names, so no input name can place a file outside the root. Input audio is only ever read. Every
file is written under a temporary name in its destination folder and renamed into place.
"""

from __future__ import annotations

import glob
import re
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from atomicfile import atomic_path

FEATURE_KINDS = ("pitch", "onsets", "chroma", "notes", "summary")
_TRACK_ID = re.compile(r"^[0-9a-f]{8,64}$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class UnsafeNameError(ValueError):
    """A name would not make a safe path component."""


def check_track_id(track_id: str) -> str:
    """Return ``track_id`` if it is a lowercase hex digest, else raise."""
    if not _TRACK_ID.fullmatch(track_id):
        raise UnsafeNameError(f"track id {track_id!r} is not a hex digest")
    return track_id


def check_name(name: str) -> str:
    """Return ``name`` if it is a safe single path component (model or stem name)."""
    if not _SAFE_NAME.fullmatch(name) or name in (".", ".."):
        raise UnsafeNameError(f"{name!r} is not a safe name (letters, digits, '_', '-', '.')")
    return name


def model_slug(params: str) -> str:
    """Folder name of a model configuration: ``spleeter:2stems`` → ``2stems``; a JSON
    configuration path → its file stem."""
    text = params.removeprefix("spleeter:")
    text = Path(text).stem if text.endswith(".json") else text
    return check_name(re.sub(r"[^A-Za-z0-9_.-]", "_", text))


def write_parquet(frame: pl.DataFrame, dest: Path) -> Path:
    """Write ``frame`` to ``dest`` atomically (readers see the old file or the new one)."""
    with atomic_path(dest) as tmp:
        frame.write_parquet(tmp)
    return dest


@dataclass(frozen=True)
class StorageLayout:
    """Paths of every stemline output under ``root``."""

    root: Path

    @property
    def inventory(self) -> Path:
        """The scan inventory of input files."""
        return self.root / "inventory" / "files.parquet"

    @property
    def catalogue(self) -> Path:
        """The DuckDB catalogue file."""
        return self.root / "catalogue.duckdb"

    def track(self, track_id: str) -> Path:
        """Metadata (or error) record of one track."""
        return self.root / "tracks" / f"{check_track_id(track_id)}.parquet"

    def stems_dir(self, model: str, track_id: str) -> Path:
        """Folder of one track's stems for one model."""
        return self.root / "stems" / check_name(model) / check_track_id(track_id)

    def stems_table(self, model: str, track_id: str) -> Path:
        """Per-stem records of one track and model."""
        return self.stems_dir(model, track_id) / "stems.parquet"

    def features(self, kind: str, track_id: str, model: str, stem: str) -> Path:
        """One feature table of one stem."""
        if kind not in FEATURE_KINDS:
            raise ValueError(f"unknown feature kind {kind!r}")
        return (
            self.root
            / "features"
            / kind
            / check_track_id(track_id)
            / check_name(model)
            / f"{check_name(stem)}.parquet"
        )

    def evaluation(self, track_id: str, model: str) -> Path:
        """Evaluation metrics of one track and model."""
        return self.root / "evaluation" / check_track_id(track_id) / f"{check_name(model)}.parquet"

    def transcription_dir(self, model: str, track_id: str) -> Path:
        """Transcription-prep exports of one track and model."""
        return (
            self.root / "exports" / "transcription" / check_name(model) / check_track_id(track_id)
        )

    def run_record(self, asset: str, track_id: str) -> Path:
        """Which Dagster run last materialised ``asset`` for ``track_id``."""
        return self.root / "runs" / check_name(asset) / f"{check_track_id(track_id)}.parquet"

    def glob(self, relative: str) -> str:
        """An absolute glob pattern under the root, for Python's :func:`glob.glob` and DuckDB's
        ``read_parquet``: the wildcards of ``relative`` match, while the characters of the root
        itself (``store[v1]``, ``st*re``) match only themselves. Both readers take ``[[]``,
        ``[*]`` and ``[?]`` as the literal character, which is what :func:`glob.escape` writes."""
        return f"{glob.escape(str(self.root.resolve()))}/{relative}"
