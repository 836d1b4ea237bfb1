"""Checks shared by the ``validate()`` functions of the feature families.

Every feature table is a polars DataFrame with a fixed schema; ``validate_*`` functions
raise :class:`FeatureValidationError` (a ``ValueError``) naming the family, the column
and the first offending row.
"""

from __future__ import annotations

import numpy as np
import polars as pl


class FeatureValidationError(ValueError):
    """A feature table breaks its documented contract."""


def require_schema(frame: pl.DataFrame, schema: dict[str, pl.DataType], family: str) -> None:
    """Raise unless ``frame`` has exactly the columns of ``schema`` with those types."""
    if not isinstance(frame, pl.DataFrame):
        raise FeatureValidationError(f"{family}: expected a polars DataFrame, got {type(frame)}")
    if frame.columns != list(schema):
        raise FeatureValidationError(f"{family}: columns {frame.columns} != {list(schema)}")
    for name, dtype in schema.items():
        if frame.schema[name] != dtype:
            raise FeatureValidationError(
                f"{family}: column {name!r} has type {frame.schema[name]}, expected {dtype}"
            )


def require_finite(frame: pl.DataFrame, columns: list[str], family: str) -> None:
    """Raise if a numeric column holds NaN, Inf or null."""
    for name in columns:
        values = frame[name]
        if values.null_count():
            raise FeatureValidationError(f"{family}: column {name!r} has null values")
        array = values.to_numpy()
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            row = int(np.flatnonzero(~np.isfinite(array))[0])
            raise FeatureValidationError(f"{family}: column {name!r} is NaN/Inf at row {row}")


def require_non_negative(frame: pl.DataFrame, column: str, family: str) -> None:
    """Raise if a column has a negative value (times, frequencies)."""
    array = frame[column].to_numpy()
    if array.size and array.min() < 0:
        row = int(np.flatnonzero(array < 0)[0])
        raise FeatureValidationError(
            f"{family}: column {column!r} is negative ({array[row]}) at row {row}"
        )


def require_sorted(frame: pl.DataFrame, column: str, family: str, strict: bool = False) -> None:
    """Raise if a column is not sorted ascending (strictly when ``strict``)."""
    array = frame[column].to_numpy()
    steps = np.diff(array)
    bad = steps <= 0 if strict else steps < 0
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0]) + 1
        kind = "strictly increasing" if strict else "sorted"
        raise FeatureValidationError(f"{family}: column {column!r} is not {kind} at row {row}")


def require_range(frame: pl.DataFrame, column: str, low: float, high: float, family: str) -> None:
    """Raise if a column leaves ``[low, high]``."""
    array = frame[column].to_numpy()
    bad = (array < low) | (array > high)
    if np.any(bad):
        row = int(np.flatnonzero(bad)[0])
        raise FeatureValidationError(
            f"{family}: column {column!r} = {array[row]} outside [{low}, {high}] at row {row}"
        )
