"""File names as the catalogue stores and shows them, and back to the file to open.

Paths are stored losslessly: the inventory's ``path_bytes`` holds a name's exact bytes, and
``path`` shows it as text with any bytes that are not UTF-8 escaped (``Caf\\xe9.wav``), so
that every name can be stored in a text column, printed and queried. :func:`printable` makes
the shown text; :func:`real_path` turns a shown path back into the file to open.
"""

from __future__ import annotations

import os

import polars as pl


def printable(text: str | bytes | os.PathLike) -> str:
    """Text that can be stored and printed: bytes of a name that are not UTF-8 (held as
    surrogate escapes in a ``str`` from :mod:`os`) become ``\\xNN``.

    >>> printable(os.fsdecode(b"/music/Caf\\xe9.wav"))
    '/music/Caf\\\\xe9.wav'
    """
    if isinstance(text, str):
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    return os.fsencode(text).decode("utf-8", "backslashreplace")


def real_path(inventory: pl.DataFrame, shown: str, track_id: str | None = None) -> str:
    """The file to open for a ``path`` as the catalogue shows it.

    A name that is not UTF-8 is shown with ``\\xNN`` escapes; its exact bytes are in the
    inventory's ``path_bytes``. Returned as :func:`os.fsdecode` gives it (a ``str`` with
    surrogate escapes); pass ``os.fsencode`` of it to libraries that encode names strictly
    (soundfile). ``track_id`` picks the row when two names show alike.
    """
    if "\\" not in shown or "path_bytes" not in inventory.columns:
        return shown  # valid UTF-8 names are shown as they are
    rows = inventory.filter((pl.col("path") == shown) & pl.col("path_bytes").is_not_null())
    if track_id is not None and (rows["track_id"] == track_id).any():
        rows = rows.filter(pl.col("track_id") == track_id)
    return os.fsdecode(rows["path_bytes"][0]) if rows.height else shown
