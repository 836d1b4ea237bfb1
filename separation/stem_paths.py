"""Naming stems: Spleeter's file name format, and the stem paths of a batch of inputs.

File names come from Spleeter's ``filename_format`` keys: ``{filename}`` (the input's base name
without extension), ``{foldername}`` (its parent folder's name), ``{instrument}`` and
``{codec}``. A format names a relative path inside the output folder (no absolute format, no
``..`` component); every name it makes is at most 255 bytes and every path at most 4096 bytes
(Linux's limits), leaving room for the writer's temporary name, checked before anything is
written. :func:`plan_stem_paths` also refuses a batch in which two inputs would write the same
stem file (or one file is given twice), since the later one would silently replace the earlier
one's stems. Writing the files is :mod:`separation.output`'s part.
"""

from __future__ import annotations

import os
import string
from pathlib import Path

from .output import CODECS, PART_SUFFIX, OutputError

FORMAT_KEYS = {"filename", "foldername", "instrument", "codec"}
DEFAULT_FILENAME_FORMAT = "{filename}/{instrument}.{codec}"
#: Longest file name and path, in bytes (Linux's NAME_MAX and PATH_MAX).
NAME_MAX = 255
PATH_MAX = 4096
#: What a temporary name adds to a stem's name: ``.`` + ``.PID`` (up to 7 digits) + ``.`` +
#: 8 hex digits + :data:`PART_SUFFIX` (:func:`atomicfile.temporary_name`).
TEMP_NAME_EXTRA = 2 + 7 + 1 + 8 + len(PART_SUFFIX)
#: A format that keeps inputs of the same name in different folders apart.
FOLDER_FILENAME_FORMAT = "{foldername}/{filename}/{instrument}.{codec}"


def check_filename_format(fmt: str) -> None:
    """Reject a format that could not name stems inside the output folder, before any work.

    Refused: syntax errors, unknown keys, a format without ``{instrument}``, an absolute
    format, a ``..`` component, and a format spec or conversion that fails on text (such as
    ``{filename:d}``). Over-long names are only known per input (:func:`stem_paths`).
    """
    try:
        keys = {name for _, name, _, _ in string.Formatter().parse(fmt) if name is not None}
    except ValueError as exc:
        raise OutputError(f"filename format {fmt!r}: {exc}") from exc
    unknown = keys - FORMAT_KEYS
    if unknown:
        raise OutputError(
            f"filename format {fmt!r} uses unknown keys {sorted(unknown)}; "
            f"available: {sorted(FORMAT_KEYS)}"
        )
    if "instrument" not in keys:
        raise OutputError(f"filename format {fmt!r} must contain {{instrument}}")
    inside = "it must name a path inside the output folder (-o)"
    if fmt.startswith(("/", os.sep)):
        raise OutputError(f"filename format {fmt!r} is absolute; {inside}")
    if ".." in fmt.replace(os.sep, "/").split("/"):
        raise OutputError(f"filename format {fmt!r} has a '..' component; {inside}")
    try:
        fmt.format(filename="x", foldername="x", instrument="x", codec="wav")
    except (ValueError, KeyError, IndexError, AttributeError) as exc:
        raise OutputError(f"filename format {fmt!r}: {exc}") from exc


def stem_paths(
    source: Path, destination: Path, instruments: tuple[str, ...], fmt: str, codec: str
) -> dict[str, Path]:
    """Destination path of every stem of ``source``.

    Refuses (:class:`OutputError`) paths leaving ``destination``, names longer than
    :data:`NAME_MAX` bytes, paths longer than :data:`PATH_MAX` bytes and formats mapping two
    stems to one path.
    """
    if codec not in CODECS:
        raise OutputError(f"unknown codec {codec!r}; choose one of {sorted(CODECS)}")
    check_filename_format(fmt)
    source = Path(source)
    root = Path(destination).resolve()
    paths: dict[str, Path] = {}
    for inst in instruments:
        rel = fmt.format(
            filename=source.stem,
            foldername=source.absolute().parent.name,
            instrument=inst,
            codec=codec,
        )
        path = (root / rel).resolve()
        if root != path and root not in path.parents:
            raise OutputError(f"{source}: output path {rel!r} would leave {root}")
        _check_length(source, path)
        paths[inst] = path
    if len(set(paths.values())) != len(paths):
        raise OutputError(f"{source}: filename format {fmt!r} maps several stems to one path")
    return paths


def _check_length(source: Path, path: Path) -> None:
    """Refuse a path the file system cannot hold (ENAMETOOLONG only at write time).

    A stem's own name leaves room for its temporary file's longer name
    (``.NAME.PID.RANDOM.part``, :data:`TEMP_NAME_EXTRA` bytes more).
    """
    *folders, name = path.parts
    for part in folders:
        if len(os.fsencode(part)) > NAME_MAX:
            raise OutputError(
                f"{source}: output folder name {part[:24]!r}... is {len(os.fsencode(part))} "
                f"bytes long; names are limited to {NAME_MAX} bytes"
            )
    if len(os.fsencode(name)) > NAME_MAX - TEMP_NAME_EXTRA:
        raise OutputError(
            f"{source}: output name {name[:24]!r}... is {len(os.fsencode(name))} bytes long; "
            f"stem names are limited to {NAME_MAX - TEMP_NAME_EXTRA} bytes (the {NAME_MAX}-byte "
            f"limit less {TEMP_NAME_EXTRA} for the temporary name)"
        )
    size = len(os.fsencode(path))
    if size + TEMP_NAME_EXTRA >= PATH_MAX:
        raise OutputError(
            f"{source}: output path {str(path)[:48]!r}... is {size} bytes long; paths must "
            f"stay under {PATH_MAX} bytes with {TEMP_NAME_EXTRA} more for the temporary name"
        )


def check_destination(destination: Path) -> None:
    """Refuse an output folder that is a file (or lies below one) or cannot be written.

    The nearest existing folder on the way up is checked, as the output folder is created
    when the first stem is written.
    """
    for path in (destination, *destination.absolute().parents):
        if path.is_symlink() and not path.exists():
            raise OutputError(f"output folder {destination}: {path} is a dangling link")
        if not path.exists():
            continue
        if not path.is_dir():
            raise OutputError(f"output folder {destination}: {path} is not a folder")
        if not os.access(path, os.W_OK | os.X_OK):
            raise OutputError(f"output folder {destination}: {path} is not writable")
        return


def plan_stem_paths(
    sources: list[Path], destination: Path, instruments: tuple[str, ...], fmt: str, codec: str
) -> dict[Path, dict[str, Path]]:
    """The stem paths of every input of one batch, refusing any two inputs that share one.

    Raises :class:`OutputError` naming both inputs and the shared path when two inputs would
    write the same stem file, or when one file is given twice (under any name or link), or
    when an input's stem paths are invalid (:func:`stem_paths`). Nothing has been written
    then; the message suggests :data:`FOLDER_FILENAME_FORMAT` when that format tells the
    inputs apart.
    """
    seen: dict[tuple[int, int] | Path, Path] = {}
    for source in sources:
        identity = _identity(source)
        if identity in seen:
            first = seen[identity]
            same = (
                f"{source} is given twice"
                if str(first) == str(source)
                else f"{first} and {source} are the same file"
            )
            raise OutputError(f"{same}; give each input once")
        seen[identity] = source
    plan = {source: stem_paths(source, destination, instruments, fmt, codec) for source in sources}
    clashes = _clashes(plan)
    if not clashes:
        return plan
    first, second, path = clashes[0]
    more = f" (and {len(clashes) - 1} more)" if len(clashes) > 1 else ""
    message = f"{first} and {second} would both write {path}{more}; nothing was written. "
    if _tells_apart(FOLDER_FILENAME_FORMAT, sources, destination, instruments, codec):
        message += f"Tell them apart with -f '{FOLDER_FILENAME_FORMAT}'"
    else:
        message += "Rename them or separate them into different output folders (-o)"
    raise OutputError(message)


def check_distinct_outputs(
    jobs: list[tuple[Path, Path]], instruments: tuple[str, ...], fmt: str, codec: str
) -> None:
    """Refuse a batch of ``(input, output folder)`` jobs of which two would write one stem file.

    Raises :class:`OutputError` naming both inputs and the path, or when a job's stem paths
    are invalid (:func:`stem_paths`); nothing has been written then.
    """
    owner: dict[Path, Path] = {}
    for source, folder in jobs:
        for path in stem_paths(source, folder, instruments, fmt, codec).values():
            if path in owner:
                raise OutputError(
                    f"{owner[path]} and {source} would both write {path}; nothing was written"
                )
            owner[path] = source


def _tells_apart(
    fmt: str, sources: list[Path], destination: Path, instruments: tuple[str, ...], codec: str
) -> bool:
    """Whether ``fmt`` gives every input of the batch its own valid stem paths."""
    try:
        plan = {s: stem_paths(s, destination, instruments, fmt, codec) for s in sources}
    except OutputError:
        return False
    return not _clashes(plan)


def _identity(source: Path) -> tuple[int, int] | Path:
    """One key per file: device and inode when it exists (links, hard links), else its path."""
    try:
        stat = source.stat()
    except OSError:
        return source.absolute()
    return stat.st_dev, stat.st_ino


def _clashes(plan: dict[Path, dict[str, Path]]) -> list[tuple[Path, Path, Path]]:
    """``(earlier input, later input, path)`` for every stem path claimed twice."""
    owner: dict[Path, Path] = {}
    clashes = []
    for source, paths in plan.items():
        for path in paths.values():
            if path in owner:
                clashes.append((owner[path], source, path))
            else:
                owner[path] = source
    return clashes
