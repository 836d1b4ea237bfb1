"""A track's identity: the content hash of its bytes, and checks that an input still has it.

A track is identified by the sha256 of its bytes; its id is the first :data:`TRACK_ID_HEX` hex
digits. So a renamed or duplicated file maps to the same track and costs nothing, and a file
whose bytes change becomes a new track. An entry whose content cannot be read (a FIFO, a
dangling link, an unreadable file) gets a track id derived from its path
(:func:`path_track_id`), so the pipeline can record its error.

Whatever is computed from an input must be computed from the content that names the track:
:func:`check_unchanged` hashes the file again after it was processed, and
:func:`discard_if_changed` also removes outputs computed from other content.
:func:`regular_file_problem` says, from a ``stat`` alone, why a path cannot be opened as audio.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from .content_hash import NotRegularFile, file_sha256, not_regular
from .path_names import printable

#: Hex digits of a track id: the first of its content's sha256.
TRACK_ID_HEX = 16


def path_track_id(path: str | bytes) -> str:
    """Track id of an entry whose content cannot be read (derived from its path)."""
    return hashlib.sha256(b"path:" + os.fsencode(path)).hexdigest()[:TRACK_ID_HEX]


def regular_file_problem(path: str | os.PathLike) -> str | None:
    """Why ``path`` is not a readable regular file (after following links), or ``None``; a
    ``stat`` only, so a FIFO or device is never opened."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "dangling link or vanished file"
    except OSError as exc:
        return f"cannot stat: {exc.strerror}"
    return not_regular(st.st_mode)


class InputChanged(ValueError):
    """An input file's bytes are no longer those the scan hashed."""


def check_unchanged(path: str, sha256: str) -> None:
    """Raise :class:`InputChanged` unless ``path`` still hashes to ``sha256``.

    Called after a file was decoded or separated: the content processed must be the content
    that names the track. The message is one line naming the file."""
    try:
        actual = file_sha256(path)
        now = f"now {actual[:TRACK_ID_HEX]}"
    except (OSError, NotRegularFile) as exc:
        actual = None
        now = f"now unreadable: {exc.strerror if isinstance(exc, OSError) else exc}"
    if actual != sha256:
        raise InputChanged(
            f"{printable(path)}: changed while being processed (sha256 {sha256[:TRACK_ID_HEX]} "
            f"when scanned, {now}); it will be picked up by the next scan"
        )


def discard_if_changed(path: str, sha256: str, outputs: Iterable[str | os.PathLike]) -> None:
    """:func:`check_unchanged`, removing ``outputs`` first when ``path`` changed.

    Called after outputs were computed from ``path``: what was computed from other content
    than the track's is not kept under the track's name. Raises :class:`InputChanged` as
    :func:`check_unchanged` does."""
    try:
        check_unchanged(path, sha256)
    except InputChanged:
        for output in outputs:
            Path(output).unlink(missing_ok=True)
        raise
