"""Finding audio under the audio roots: every audio-named entry, its kind, and its role.

The walk never descends into the storage root it is given (``exclude``) nor into any folder that
holds stemline storage (an ``inventory/files.parquet`` or a ``catalogue.duckdb``); an audio root
that is itself storage is walked without stemline's own output folders. Links are not followed
into folders.

Only regular files (after following links) are ever opened later. A FIFO, socket, character or
block device (or a link to one) or a directory named like audio becomes an :class:`Entry` whose
``problem`` names its kind (``is a FIFO (named pipe), not an audio file``); so do dangling links
and unreadable files. Everything here is a ``stat``; nothing is read.

Folders in MUSDB18 layout (a ``mixture.<ext>`` beside other audio files) hold one track, the
mixture; its sibling files are its reference stems (``role = "reference"``), not tracks
(:func:`track_roles`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .content_hash import not_regular
from .path_names import printable

AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif"})
MIXTURE_STEM = "mixture"
#: What marks a folder as stemline storage (``catalogue.layout``): it is never scanned.
STORAGE_MARKERS = (os.path.join("inventory", "files.parquet"), "catalogue.duckdb")
#: stemline's output folders in a storage root, left out when the root is an audio root too.
STORAGE_FOLDERS = frozenset(
    {"inventory", "tracks", "stems", "features", "evaluation", "exports", "runs", ".dagster"}
)


@dataclass(frozen=True)
class Entry:
    """One audio-named entry found under a root (``path`` as :mod:`os` gives it)."""

    path: str
    root: str
    size_bytes: int | None
    mtime_ns: int | None
    problem: str | None
    ctime_ns: int | None = None

    @property
    def version(self) -> tuple[int | None, int | None, int | None]:
        """What tells one content of the file from another without reading it."""
        return self.size_bytes, self.mtime_ns, self.ctime_ns


def walk(roots: Iterable[Path], exclude: Iterable[Path] = ()) -> list[Entry]:
    """Every audio-named entry under ``roots`` (recursive, links not followed into folders),
    outside ``exclude`` and any stemline storage."""
    return find_entries(roots, exclude)[0]


def find_entries(roots: Iterable[Path], exclude: Iterable[Path]) -> tuple[list[Entry], list[str]]:
    """Every audio-named entry under ``roots`` as :func:`walk` finds them, and the storage
    folders left out (as shown)."""
    excluded = set()
    for path in exclude:
        try:
            st = os.stat(path)
        except OSError:
            continue
        excluded.add((st.st_dev, st.st_ino))
    entries: list[Entry] = []
    skipped: list[str] = []
    for root in roots:
        root_abs = str(Path(root).absolute())
        if not os.path.isdir(root_abs):
            continue
        for dirpath, dirnames, filenames in os.walk(root_abs):
            kept = []
            for d in sorted(dirnames):
                if _is_storage(os.path.join(dirpath, d), excluded):
                    skipped.append(printable(os.path.join(dirpath, d)))
                else:
                    kept.append(d)
            if dirpath == root_abs and _is_storage(root_abs, excluded):
                kept = [d for d in kept if d not in STORAGE_FOLDERS]
            dirnames[:] = kept
            for name in sorted(filenames) + [d for d in kept if _is_audio_name(d)]:
                if not _is_audio_name(name):
                    continue
                path = os.path.join(dirpath, name)
                entries.append(_entry(path, root_abs))
    return entries, skipped


def _is_storage(path: str, excluded: set[tuple[int, int]]) -> bool:
    try:
        st = os.stat(path)
    except OSError:
        return False
    if (st.st_dev, st.st_ino) in excluded:
        return True
    return any(os.path.isfile(os.path.join(path, marker)) for marker in STORAGE_MARKERS)


def _is_audio_name(name: str) -> bool:
    return os.path.splitext(name)[1].lower() in AUDIO_EXTENSIONS and not name.startswith(".")


def _entry(path: str, root: str) -> Entry:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Entry(path, root, None, None, "dangling link or vanished file")
    except OSError as exc:
        return Entry(path, root, None, None, f"cannot stat: {exc.strerror}")
    problem = not_regular(st.st_mode)
    if problem is not None:
        return Entry(path, root, None, st.st_mtime_ns, problem, st.st_ctime_ns)
    if not os.access(path, os.R_OK):
        return Entry(path, root, st.st_size, st.st_mtime_ns, "file is not readable", st.st_ctime_ns)
    return Entry(path, root, st.st_size, st.st_mtime_ns, None, st.st_ctime_ns)


def track_roles(entries: list[Entry]) -> dict[str, tuple[str, str | None, str | None]]:
    """``path -> (role, mixture_path, reference_stem)`` with MUSDB18 folders recognised."""
    by_dir: dict[str, list[Entry]] = {}
    for e in entries:
        by_dir.setdefault(os.path.dirname(e.path), []).append(e)
    roles: dict[str, tuple[str, str | None, str | None]] = {}
    for files in by_dir.values():
        mixtures = [
            e
            for e in files
            if os.path.splitext(os.path.basename(e.path))[0].lower() == MIXTURE_STEM
            and e.problem is None
        ]
        mixture = mixtures[0].path if len(mixtures) == 1 else None
        for e in files:
            if mixture is not None and e.path != mixture and e.problem is None:
                stem = os.path.splitext(os.path.basename(e.path))[0]
                roles[e.path] = ("reference", printable(mixture), printable(stem))
            else:
                roles[e.path] = ("track", None, None)
    return roles
