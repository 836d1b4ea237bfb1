"""Evaluation records as a table."""

from __future__ import annotations

import polars as pl


def records_frame(records: list[dict], **keys) -> pl.DataFrame:
    """Records (dicts) as one polars DataFrame, with constant key columns prepended.

    Columns missing from some records are null there (``how="diagonal"``).

    Examples
    --------
    >>> records_frame([{"stem": "vocals", "sdr_db": 7.5}], track_id="ab12").columns
    ['track_id', 'stem', 'sdr_db']
    """
    frames = [pl.DataFrame([{**keys, **r}]) for r in records]
    if not frames:
        return pl.DataFrame(schema={k: pl.String for k in keys})
    return pl.concat(frames, how="diagonal_relaxed")
