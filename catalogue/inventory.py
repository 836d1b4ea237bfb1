"""The inventory of input files: which audio exists under the roots, and its content hash.

A track is identified by the sha256 of its bytes; its id is the first 16 hex digits. So a
renamed or duplicated file maps to the same track and costs nothing, and a file whose bytes
change becomes a new track. Files are re-hashed only when their size, modification time or
status-change time (``ctime``, which no program can set back) changed since the last scan.

Hashing is budgeted per scan so that a huge new folder is taken in over several scans (the
sensor's ticks) instead of one long one: after ``time_budget_s`` no new file is started and the
file being hashed stops too, its SHA-256 state saved in the inventory (``hashed_bytes``,
``hash_state``) and resumed by the next scan (:mod:`catalogue.content_hash`), so even a file
that takes many ticks to read is hashed in the end. Each scan hashes new and changed files in
path order before it resumes a partly hashed one (one huge file cannot hold back the rest), and
the first file it touches always gets at least one chunk, so every scan makes progress.

Only regular files (after following links) are opened. A FIFO, socket, character or block
device (or a link to one) or a directory named like audio gets a row whose ``problem`` names
its kind (``is a FIFO (named pipe), not an audio file``) and is never read; so do dangling links
and unreadable files. Such entries get a track id derived from their path, so the pipeline can
record their error.

Paths are stored losslessly: ``path_bytes`` holds the name's exact bytes, ``path`` shows it as
text with any bytes that are not UTF-8 escaped (``Caf\\xe9.wav``); :func:`real_path` turns the
shown path back into the file to open. The scan never descends into the storage root it is
given (``exclude``) nor into any folder that holds stemline storage (an
``inventory/files.parquet`` or a ``catalogue.duckdb``); an audio root that is itself storage is
scanned without stemline's own output folders.

Folders in MUSDB18 layout (a ``mixture.<ext>`` beside other audio files) hold one track, the
mixture; its sibling files are its reference stems (``role = "reference"``), not tracks.

When the content at a path changes (a file overwritten in place), the row of the old content
stays, with status ``removed`` and its old track id, beside the row of the new content: the old
track keeps its results and shows as removed, instead of vanishing from ``tracks``.

Inventory columns: ``path`` (absolute, as text), ``path_bytes`` (its exact bytes), ``root``,
``role`` (``track`` / ``reference``), ``mixture_path`` (for references), ``reference_stem`` (the
reference's stem name), ``size_bytes``, ``mtime_ns``, ``ctime_ns``, ``sha256``, ``track_id``,
``status`` (``present`` / ``pending`` (not hashed yet) / ``removed``), ``problem`` (why it
cannot be read, or null), ``hashed_bytes`` and ``hash_state`` (progress of a partly hashed
file), ``first_seen``, ``last_seen`` (UTC).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from atomicfile import exclusive_lock

from .content_hash import NotRegularFile, file_sha256, hash_file, not_regular
from .layout import write_parquet

AUDIO_EXTENSIONS = frozenset({".wav", ".wave", ".flac", ".ogg", ".oga", ".mp3", ".aiff", ".aif"})
MIXTURE_STEM = "mixture"
TRACK_ID_HEX = 16
#: What marks a folder as stemline storage (``catalogue.layout``): it is never scanned.
STORAGE_MARKERS = (os.path.join("inventory", "files.parquet"), "catalogue.duckdb")
#: stemline's output folders in a storage root, left out when the root is an audio root too.
STORAGE_FOLDERS = frozenset(
    {"inventory", "tracks", "stems", "features", "evaluation", "exports", "runs", ".dagster"}
)

INVENTORY_SCHEMA = {
    "path": pl.String,
    "path_bytes": pl.Binary,
    "root": pl.String,
    "role": pl.String,
    "mixture_path": pl.String,
    "reference_stem": pl.String,
    "size_bytes": pl.Int64,
    "mtime_ns": pl.Int64,
    "ctime_ns": pl.Int64,
    "sha256": pl.String,
    "track_id": pl.String,
    "status": pl.String,
    "problem": pl.String,
    "hashed_bytes": pl.Int64,
    "hash_state": pl.String,
    "first_seen": pl.Datetime("us", "UTC"),
    "last_seen": pl.Datetime("us", "UTC"),
}


def empty_inventory() -> pl.DataFrame:
    """An inventory with no rows."""
    return pl.DataFrame(schema=INVENTORY_SCHEMA)


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


@dataclass(frozen=True)
class TrackFile:
    """The file a track is read from.

    Attributes
    ----------
    entry : dict
        Its inventory row.
    source : str
        The name to open (as :func:`os.fsdecode` gives it; exact bytes for a name that is not
        UTF-8).
    copies : int
        How many files not removed hold the track's content (identical copies are one track).
    """

    entry: dict
    source: str
    copies: int


def track_file(inventory: pl.DataFrame, track_id: str) -> TrackFile | None:
    """The file to read track ``track_id`` from: the first by path of its files that are not
    removed; None when it has none."""
    rows = inventory.filter(
        (pl.col("track_id") == track_id)
        & (pl.col("role") == "track")
        & (pl.col("status") != "removed")
    ).sort("path")
    if rows.is_empty():
        return None
    entry = rows.row(0, named=True)
    raw = entry["path_bytes"]
    return TrackFile(entry, os.fsdecode(raw) if raw is not None else entry["path"], rows.height)


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
    return _walk(roots, exclude)[0]


def _walk(roots: Iterable[Path], exclude: Iterable[Path]) -> tuple[list[Entry], list[str]]:
    """Entries, and the storage folders left out."""
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


def _roles(entries: list[Entry]) -> dict[str, tuple[str, str | None, str | None]]:
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


@dataclass
class ScanResult:
    """A new inventory and what changed since the previous one."""

    inventory: pl.DataFrame
    hashed: int
    pending: int
    #: Storage folders found under the roots and left out (as shown).
    excluded: list[str] = field(default_factory=list)

    def present_tracks(self) -> pl.DataFrame:
        """One row per present track id with its first path (sorted), for run requests."""
        tracks = self.inventory.filter(
            (pl.col("role") == "track") & (pl.col("status") == "present")
        )
        return tracks.sort("path").group_by("track_id", maintain_order=True).first()


def scan(
    roots: Iterable[Path],
    previous: pl.DataFrame | None = None,
    *,
    max_hashes: int | None = None,
    time_budget_s: float | None = None,
    exclude: Iterable[Path] = (),
    now: datetime | None = None,
) -> ScanResult:
    """Scan ``roots`` and return the updated inventory.

    Parameters
    ----------
    roots : iterable of Path
        Folders to scan recursively.
    previous : polars.DataFrame, optional
        The last inventory; unchanged files (same size, mtime and ctime) keep their hash.
    max_hashes : int, optional
        Hash at most this many new or changed files; the rest stay ``pending``.
    time_budget_s : float, optional
        Seconds of hashing: no file is started after it, and a file being hashed stops at it
        (``pending``, resumed by the next scan); the first file a scan hashes always gets at
        least one chunk, so repeated scans always finish.
    exclude : iterable of Path
        Folders never descended into (the storage root); folders holding stemline storage
        are left out as well.
    now : datetime, optional
        Timestamp for ``first_seen``/``last_seen`` (UTC now by default).
    """
    now = now or datetime.now(UTC)
    roots = [Path(r) for r in roots]
    previous = previous if previous is not None else empty_inventory()
    current: dict[bytes, dict] = {}
    history: list[dict] = []
    for row in previous.iter_rows(named=True):
        if row["status"] == "removed":
            history.append(row)
        else:
            current[row["path_bytes"]] = row
    gone_before = {h["path_bytes"]: h for h in sorted(history, key=lambda h: h["last_seen"])}

    entries, skipped = _walk(roots, exclude)
    roles = _roles(entries)
    rows: list[dict] = []
    fresh: list[tuple[dict, Entry, dict | None]] = []
    partial: list[tuple[dict, Entry, dict | None]] = []
    for e in entries:
        raw = os.fsencode(e.path)
        old = current.get(raw) or gone_before.get(raw)
        role, mixture, ref_stem = roles[e.path]
        row = {
            "path": printable(e.path),
            "path_bytes": raw,
            "root": printable(e.root),
            "role": role,
            "mixture_path": mixture,
            "reference_stem": ref_stem,
            "size_bytes": e.size_bytes,
            "mtime_ns": e.mtime_ns,
            "ctime_ns": e.ctime_ns,
            "sha256": None,
            "track_id": None,
            "status": "present",
            "problem": e.problem,
            "hashed_bytes": None,
            "hash_state": None,
            "first_seen": old["first_seen"] if old is not None else now,
            "last_seen": now,
        }
        rows.append(row)
        if e.problem is not None:
            continue
        same = old is not None and _same_version(old, e)
        if same and old["sha256"] is not None:
            row["sha256"] = old["sha256"]
        elif same and old["hash_state"] is not None:
            partial.append((row, e, old))
        else:
            fresh.append((row, e, None))

    hashed = _hash_in_budget([*fresh, *partial], max_hashes, time_budget_s)
    for row in rows:
        if row["status"] != "pending":
            row["track_id"] = (
                row["sha256"][:TRACK_ID_HEX] if row["sha256"] else path_track_id(row["path_bytes"])
            )
        old = current.get(row["path_bytes"])
        if old is not None and old["track_id"] not in (None, row["track_id"]):
            # The content at this path changed: its old track stays, marked removed.
            history.append({**old, "status": "removed"})

    seen = {row["path_bytes"] for row in rows}
    scanned = {printable(str(r.absolute())) for r in roots}
    for raw, old in current.items():
        if raw in seen:
            continue
        # Entries under roots not scanned this time are carried over as they were.
        rows.append({**old, "status": "removed"} if old["root"] in scanned else old)
    rows += _distinct_history(history, rows, seen)
    inventory = pl.DataFrame(rows, schema=INVENTORY_SCHEMA) if rows else empty_inventory()
    pending = sum(1 for row in rows if row["status"] == "pending")
    return ScanResult(inventory.sort(["path", "last_seen"]), hashed, pending, skipped)


def _same_version(old: dict, e: Entry) -> bool:
    """Whether an entry is the version of the file ``old`` describes (same size, mtime and
    ctime)."""
    return (
        old["size_bytes"] == e.size_bytes
        and old["mtime_ns"] == e.mtime_ns
        and old["ctime_ns"] == e.ctime_ns
    )


def _hash_in_budget(
    todo: list[tuple[dict, Entry, dict | None]],
    max_hashes: int | None,
    time_budget_s: float | None,
) -> int:
    """Hash ``todo`` in order within the budget, filling each row; returns files hashed."""
    deadline = None if time_budget_s is None else time.monotonic() + time_budget_s
    hashed = 0
    started_any = False
    for row, e, old in todo:
        resume = (old["hashed_bytes"], old["hash_state"]) if old is not None else None
        out_of_time = deadline is not None and started_any and time.monotonic() >= deadline
        if (max_hashes is not None and hashed >= max_hashes) or out_of_time:
            _leave_pending(row, resume)
            continue
        first, started_any = not started_any, True
        try:
            progress = hash_file(
                e.path,
                deadline=deadline,
                resume=resume,
                at_least_one_chunk=first,
                expect=e.version,
            )
        except NotRegularFile as exc:  # replaced by a FIFO or device since the stat
            row["problem"] = str(exc)
            continue
        except OSError as exc:
            row["problem"] = f"cannot read: {exc.strerror or exc}"
            continue
        if progress.sha256 is not None:
            row["sha256"] = progress.sha256
            hashed += 1
        elif progress.changed:  # being written: hash it when it has settled
            _leave_pending(row, None)
        else:
            _leave_pending(row, (progress.hashed_bytes, progress.state) if progress.state else None)
    return hashed


def _leave_pending(row: dict, resume: tuple[int, str] | None) -> None:
    row["status"] = "pending"
    row["hashed_bytes"], row["hash_state"] = resume if resume else (None, None)


def _distinct_history(history: list[dict], rows: list[dict], seen: set[bytes]) -> list[dict]:
    """Removed rows of earlier contents, one per (path, track id), newest first, without
    those the current rows already stand for."""
    taken = {(row["path_bytes"], row["track_id"]) for row in rows}
    out = []
    for row in sorted(history, key=lambda h: h["last_seen"], reverse=True):
        key = (row["path_bytes"], row["track_id"])
        if key in taken or (row["track_id"] is None and row["path_bytes"] in seen):
            continue
        taken.add(key)
        out.append(row)
    return out


def read_inventory(path: Path) -> pl.DataFrame:
    """The stored inventory, or an empty one."""
    return pl.read_parquet(path) if path.is_file() else empty_inventory()


def update_inventory(
    path: Path, roots: Iterable[Path], *, exclude: Iterable[Path] = (), **budget
) -> ScanResult:
    """Scan ``roots`` against the stored inventory and store the result, under the lock.

    ``exclude`` (the storage root) is never scanned; ``budget`` is ``max_hashes`` and
    ``time_budget_s`` of :func:`scan`."""

    # One scanner at a time (the sensor and `stemline run`, or two runs), so none of them
    # loses the others' entries.
    with exclusive_lock(path.with_name(path.name + ".lock")):
        result = scan(roots, read_inventory(path), exclude=exclude, **budget)
        write_parquet(result.inventory, path)
    return result
