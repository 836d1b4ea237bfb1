"""One dynamic partition per track, with a key a person can find in the UI.

A track is identified by the first 16 hex digits of its sha256 (its *track id*); that is what
every stored path is built from. The partition key puts a short, readable slug of the track's
first path in front of the id, ``song-03-0123456789abcdef``, so the partition lists, the
Materialise dialog, runs and checks show which song a partition is while identity stays the
content hash: the id is always the key's last 16 characters (:func:`track_id_of`), and a key
made once for a track id is reused for that id forever (:func:`partition_keys_for`), so renames
and copies never make a second partition. A bare track id (no slug) is also a valid key.

Slugs keep ASCII letters and digits (accents folded away, everything else becomes ``-``),
lowercase, at most :data:`SLUG_CHARS` characters; a MUSDB18-style ``mixture.wav`` takes its
folder's name.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Iterable

import dagster as dg

from catalogue.inventory import TRACK_ID_HEX
from catalogue.store import UnsafeNameError, check_track_id

TRACKS = "tracks"
tracks_partitions = dg.DynamicPartitionsDefinition(name=TRACKS)

SLUG_CHARS = 40
_KEY = re.compile(rf"^(?:([a-z0-9]+(?:-[a-z0-9]+)*)-)?([0-9a-f]{{{TRACK_ID_HEX}}})$")


def path_slug(path: str) -> str:
    """A short readable slug of an input path (its file name, or folder for ``mixture.*``).

    Examples
    --------
    >>> path_slug("/music/Album/03 Café del Mar.flac")
    '03-cafe-del-mar'
    >>> path_slug("/musdb/train/Song A/mixture.wav")
    'song-a'
    """
    stem, _ = os.path.splitext(os.path.basename(path))
    if stem.lower() == "mixture":
        stem = os.path.basename(os.path.dirname(path)) or stem
    folded = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    return slug[:SLUG_CHARS].rstrip("-")


def partition_key(track_id: str, path: str) -> str:
    """The partition key of a new track: ``<slug of path>-<track id>`` (or the bare id)."""
    check_track_id(track_id)
    slug = path_slug(path)
    return f"{slug}-{track_id}" if slug else track_id


def track_id_of(key: str) -> str:
    """The track id inside a partition key; raises :class:`UnsafeNameError` for other keys."""
    match = _KEY.fullmatch(key)
    if match is None:
        raise UnsafeNameError(
            f"partition key {key!r} is not '<slug>-<{TRACK_ID_HEX} hex digits>' or a track id"
        )
    return match.group(2)


def partition_keys_for(
    tracks: Iterable[tuple[str, str]], existing: Iterable[str]
) -> tuple[dict[str, str], list[str]]:
    """Keys for ``(track_id, first path)`` pairs, reusing the key an id already has.

    Returns
    -------
    keys : dict
        ``track_id -> partition key`` for every given track.
    new : list of str
        The keys that do not exist yet (to add as dynamic partitions), in the given order.
    """
    known: dict[str, str] = {}
    for key in existing:
        try:
            known.setdefault(track_id_of(key), key)
        except UnsafeNameError:
            continue  # a partition added by hand with another shape: not ours to map
    keys: dict[str, str] = {}
    new: list[str] = []
    for track_id, path in tracks:
        if track_id in keys:
            continue
        key = known.get(track_id)
        if key is None:
            key = partition_key(track_id, path)
            new.append(key)
        keys[track_id] = key
    return keys, new
