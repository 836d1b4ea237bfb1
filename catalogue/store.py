"""The storage boundary: where every output of a track is stored, and in which schema.

The track steps read and write only through a :class:`TrackStore`, one track under one model:
its record (``track_audio``), its stems table and stem files (``stems``), its feature tables
(``stem_features``), its evaluation table (``separation_eval``), the folder and manifest of its
transcription exports (``transcription_prep``), and the run record of each step. It also finds
the track's input in the scan inventory (:mod:`catalogue.track_inputs`): the file to open
and, for a MUSDB18 mixture, its reference stems. Paths come from
:class:`~catalogue.layout.StorageLayout`, schemas from :mod:`catalogue.schema`; every table is
written atomically (readers see the old file or the new one), in the same files and bytes the
catalogue views read.

An output a step needs that is missing, damaged or unusable raises an
:class:`~catalogue.required_outputs.OutputUnavailable` whose message is the one line users see
(``track <id> has no record; materialise track_audio first``). An optional table (a feature
table) that is missing or unreadable raises :class:`~catalogue.integrity.DamagedFileError`,
naming the file.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import soundfile as sf

from .integrity import DamagedFileError, read_checked
from .layout import FEATURE_KINDS, UnsafeNameError, check_name, check_track_id, write_parquet
from .required_outputs import (
    DamagedOutput,
    MissingOutput,
    OutputUnavailable,
    UnusableTrack,
    read_required,
)
from .schema import EVALUATION_SCHEMA, RUN_SCHEMA, TRACK_SCHEMA, stem_table
from .track_inputs import TrackInputs

__all__ = [
    "FEATURE_KINDS",
    "DamagedFileError",
    "DamagedOutput",
    "MissingOutput",
    "OutputUnavailable",
    "TrackInputs",
    "TrackStore",
    "UnsafeNameError",
    "UnusableTrack",
    "check_track_id",
    "stems_data_version",
]


def stems_data_version(track_sha256: str, checkpoint_sha256: str, code_version: str) -> str:
    """The stems' data version: what they were computed from (the track's content, the
    checkpoint actually loaded, the code version), so that new weights under the same model
    name make everything computed from the stems stale. 24 hex digits."""
    text = f"{track_sha256}\n{checkpoint_sha256}\n{code_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class TrackStore(TrackInputs):
    """The stored outputs of one track under one model, and its input files
    (:class:`~catalogue.track_inputs.TrackInputs`).

    Parameters
    ----------
    layout : StorageLayout
        The storage root.
    track_id : str
        The track (a hex digest; anything else raises
        :class:`~catalogue.layout.UnsafeNameError`).
    model : str
        Model folder name (``2stems``), a safe path component.
    """

    model: str

    def __post_init__(self) -> None:
        super().__post_init__()
        check_name(self.model)

    # -- the track record (track_audio) ------------------------------------------------------

    @property
    def record_path(self) -> Path:
        """``tracks/<track_id>.parquet``."""
        return self.layout.track(self.track_id)

    def write_track_record(self, row: Mapping[str, object]) -> Path:
        """Store the track's decode record: the columns of :data:`TRACK_SCHEMA` from ``row``
        (absent ones null), ``status`` ``ok`` with the audio's metadata or ``error`` with
        the reason."""
        full = {key: row.get(key) for key in TRACK_SCHEMA} | {"track_id": self.track_id}
        return write_parquet(pl.DataFrame([full], schema=TRACK_SCHEMA), self.record_path)

    def track_record(self) -> dict:
        """The track's decode record, for the steps that need a usable track.

        Raises
        ------
        MissingOutput
            No record: ``track <id> has no record; materialise track_audio first``.
        DamagedOutput
            The record cannot be read.
        UnusableTrack
            The input was bad: ``track <id> (<path>) is unusable: <error>``.
        """
        missing = f"track {self.track_id} has no record; materialise track_audio first"
        row = read_required(self.record_path, missing, "track_audio").row(0, named=True)
        if row["status"] != "ok":
            raise UnusableTrack(
                f"track {self.track_id} ({row['path']}) is unusable: {row['error']}",
                self.record_path,
            )
        return row

    def recorded_error(self) -> str | None:
        """The error recorded for a bad input; None when the record says ``ok``, holds no
        message, or is missing or unreadable."""
        try:
            rows = read_checked(self.record_path, columns=["status", "error"])
        except DamagedFileError:
            return None
        if rows.is_empty() or rows["status"][0] != "error":
            return None
        return rows["error"][0] or None

    # -- stems ---------------------------------------------------------------------------------

    @property
    def stems_dir(self) -> Path:
        """The folder the stem files are written to."""
        return self.layout.stems_dir(self.model, self.track_id)

    @property
    def stems_table_path(self) -> Path:
        """``stems/<model>/<track_id>/stems.parquet``."""
        return self.layout.stems_table(self.model, self.track_id)

    def write_stems_table(
        self,
        files: Mapping[str, str | os.PathLike],
        levels_dbfs: Mapping[str, tuple[float, float]],
        clipped_samples: Mapping[str, int],
        **common: object,
    ) -> pl.DataFrame:
        """Store the stems table of a separation, one row per stem file written
        (:func:`catalogue.schema.stem_table`; ``track_id`` and ``model`` are the store's,
        ``common`` the other shared columns), and return it."""
        table = stem_table(
            files,
            levels_dbfs,
            clipped_samples,
            **common,
            track_id=self.track_id,
            model=self.model,
        )
        write_parquet(table, self.stems_table_path)
        return table

    def stem_rows(self) -> list[dict]:
        """The stems table's rows (``stem``, ``path``, ``duration_s``, ``sample_rate``, ...).

        Raises
        ------
        MissingOutput
            ``track <id> has no <model> stems; materialise stems first``.
        DamagedOutput
            The stems table cannot be read or has no rows.
        """
        missing = f"track {self.track_id} has no {self.model} stems; materialise stems first"
        return read_required(self.stems_table_path, missing, "stems").to_dicts()

    @staticmethod
    def read_stem(row: Mapping[str, object]) -> tuple[np.ndarray, int]:
        """The samples of the stem file of a stems-table row, float32 (frames, channels),
        and its sample rate."""
        data, rate = sf.read(row["path"], dtype="float32", always_2d=True)
        return data, rate

    def read_stems(self, rows: Iterable[Mapping[str, object]]) -> tuple[dict[str, np.ndarray], int]:
        """The samples of every stem of ``rows`` (``{stem: float32 (frames, channels)}``) and
        their common sample rate.

        Raises
        ------
        DamagedOutput
            No rows, or stem files at different rates (one separation writes all its stems at
            the input's rate).
        """
        audio, rates = {}, {}
        for row in rows:
            audio[row["stem"]], rates[row["stem"]] = self.read_stem(row)
        if len(set(rates.values())) != 1:
            problem = f"stem files at rates {rates}" if rates else "no stems"
            raise DamagedOutput(
                f"{self.stems_table_path}: {problem}; materialise stems again",
                self.stems_table_path,
            )
        return audio, next(iter(rates.values()))

    # -- feature tables (stem_features) --------------------------------------------------------

    def feature_path(self, kind: str, stem: str) -> Path:
        """``features/<kind>/<track_id>/<model>/<stem>.parquet`` (``kind`` of
        :data:`FEATURE_KINDS`)."""
        return self.layout.features(kind, self.track_id, self.model, stem)

    def write_feature_tables(self, stem: str, tables: Mapping[str, pl.DataFrame]) -> None:
        """Store the feature tables of one stem, one file per kind of :data:`FEATURE_KINDS`
        (``tables`` must have them all)."""
        for kind in FEATURE_KINDS:
            write_parquet(tables[kind], self.feature_path(kind, stem))

    def has_feature_table(self, kind: str, stem: str) -> bool:
        """Whether the feature table exists (it may still be unreadable)."""
        return self.feature_path(kind, stem).is_file()

    def feature_table(self, kind: str, stem: str) -> pl.DataFrame:
        """One feature table of one stem; raises :class:`DamagedFileError` naming the file
        when it is missing or unreadable."""
        return read_checked(self.feature_path(kind, stem))

    # -- evaluation, transcription exports, run records ----------------------------------------

    @property
    def evaluation_path(self) -> Path:
        """``evaluation/<track_id>/<model>.parquet``."""
        return self.layout.evaluation(self.track_id, self.model)

    def write_evaluation(
        self, records: Iterable[Mapping[str, object]], run_id: str
    ) -> pl.DataFrame:
        """Store the track's evaluation, one row per metric (``stem``, ``metric``, ``value``,
        ``reference``; none when there was nothing to compare with), and return it."""
        rows = [
            {**r, "track_id": self.track_id, "model": self.model, "run_id": run_id} for r in records
        ]
        table = pl.DataFrame(rows, schema=EVALUATION_SCHEMA)
        write_parquet(table, self.evaluation_path)
        return table

    @property
    def transcription_dir(self) -> Path:
        """The folder of the track's transcription exports (MIDI, JAMS, note tables, audio)."""
        return self.layout.transcription_dir(self.model, self.track_id)

    @property
    def transcription_manifest(self) -> Path:
        """The manifest listing the transcription exports, in :attr:`transcription_dir`."""
        return self.transcription_dir / "manifest.parquet"

    @property
    def transcription_multitrack(self) -> Path:
        """The track's multi-track MIDI file (every stem), in :attr:`transcription_dir`."""
        return self.transcription_dir / "multitrack.mid"

    def run_record_path(self, asset: str) -> Path:
        """``runs/<asset>/<track_id>.parquet``."""
        return self.layout.run_record(asset, self.track_id)

    def write_run_record(self, asset: str, partition_key: str, run_id: str) -> Path:
        """Note that run ``run_id`` wrote ``asset`` for this track (partition ``partition_key``)
        now (the ``runs`` view)."""
        row = {
            "asset": asset,
            "track_id": self.track_id,
            "partition_key": partition_key,
            "run_id": run_id,
            "finished_at": datetime.now(UTC),
        }
        return write_parquet(pl.DataFrame([row], schema=RUN_SCHEMA), self.run_record_path(asset))
