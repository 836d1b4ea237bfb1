"""The features of one stem (:class:`StemFeatures`), the result type of the feature path.

Kept apart from :mod:`features.stem`, which computes it and imports essentia and the feature
models: a process that only receives features (the parent of the feature worker pool, which
unpickles each stem's result) imports this module, numpy and polars, and none of those.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from features.grid import FrameGrid

TABLES = ("pitch", "onsets", "chroma", "notes", "summary")


@dataclass
class StemFeatures:
    """Features of one stem.

    Attributes
    ----------
    stem : str
    grid : FrameGrid
        Frame grid of ``pitch`` and ``chroma`` (``n_frames`` even when they are empty).
    pitch, onsets, chroma, notes, summary : polars.DataFrame
        See :mod:`features.pitch`, :mod:`features.onsets`, :mod:`features.chroma`,
        :mod:`features.notes`, :mod:`features.summary`.
    """

    stem: str
    grid: FrameGrid
    pitch: pl.DataFrame
    onsets: pl.DataFrame
    chroma: pl.DataFrame
    notes: pl.DataFrame
    summary: pl.DataFrame

    @property
    def is_silent(self) -> bool:
        """Whether the stem was recognised as silent."""
        return bool(self.summary["is_silent"][0])

    def validate(self) -> None:
        """Validate every table (raises ``FeatureValidationError``)."""
        from features.chroma import validate_chroma
        from features.notes import validate_notes
        from features.onsets import validate_onsets
        from features.pitch import validate_pitch
        from features.summary import validate_summary

        validate_pitch(self.pitch)
        validate_onsets(self.onsets)
        validate_chroma(self.chroma)
        validate_notes(self.notes)
        validate_summary(self.summary)

    def tables(self, **keys: str) -> dict[str, pl.DataFrame]:
        """The five tables by name, with ``stem`` and any extra key columns prepended.

        Examples
        --------
        >>> feats.tables(track_id="ab12cd")["pitch"].columns[:3]  # doctest: +SKIP
        ['track_id', 'stem', 'frame']
        """
        keys = {**keys, "stem": self.stem}
        tables = {}
        for name in TABLES:
            table = getattr(self, name).drop([k for k in keys if k in getattr(self, name).columns])
            tables[name] = table.select([*(pl.lit(v).alias(k) for k, v in keys.items()), pl.all()])
        return tables
