"""The input side of the storage boundary: a track's audio files, found in the scan inventory.

A track is named by its content hash; which files hold that content, which of them to open,
and which reference stems lie beside a MUSDB18 mixture is recorded in the inventory
(``inventory/files.parquet``, :mod:`catalogue.inventory`). :class:`TrackInputs` answers those
questions for one track; :class:`catalogue.store.TrackStore` extends it with the track's outputs.
Input audio is only ever read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from .inventory import TrackFile, read_inventory, real_path, track_file
from .layout import StorageLayout, check_track_id


@dataclass(frozen=True)
class TrackInputs:
    """The input files of one track, as the scan inventory under ``layout`` records them.

    Parameters
    ----------
    layout : StorageLayout
        The storage root (holding the inventory).
    track_id : str
        The track (a hex digest; anything else raises
        :class:`~catalogue.layout.UnsafeNameError`).
    """

    layout: StorageLayout
    track_id: str

    def __post_init__(self) -> None:
        check_track_id(self.track_id)

    def track_file(self) -> TrackFile | None:
        """The file to read the track from (the first by path of its files not removed), with
        its inventory row and how many copies hold it; None when the inventory has none."""
        return track_file(read_inventory(self.layout.inventory), self.track_id)

    def input_file(self, track: Mapping[str, object]) -> str:
        """The file to open for the track record ``track``.

        Its ``path`` as shown, with a name that is not UTF-8 (shown with ``\\xNN`` escapes)
        resolved to its exact bytes through the inventory; returned as :func:`os.fsdecode`
        gives it (soundfile needs ``os.fsencode`` of it).
        """
        return real_path(read_inventory(self.layout.inventory), str(track["path"]), self.track_id)

    def references(self, mixture_path: str) -> dict[str, str]:
        """Reference stems of a mixture in MUSDB18 layout (files beside ``mixture.<ext>``).

        Parameters
        ----------
        mixture_path : str
            The mixture's path as shown (the track record's ``path``).

        Returns
        -------
        dict
            ``{stem name: file to open}`` for the reference files still present, as
            :func:`os.fsdecode` gives them; empty for a track that is not a mixture.
        """
        inventory = read_inventory(self.layout.inventory)
        refs = inventory.filter(
            (pl.col("role") == "reference")
            & (pl.col("mixture_path") == mixture_path)
            & (pl.col("status") == "present")
        )
        files = [
            os.fsdecode(raw) if raw is not None else shown
            for shown, raw in zip(refs["path"], refs["path_bytes"], strict=True)
        ]
        return dict(zip(refs["reference_stem"], files, strict=True))
