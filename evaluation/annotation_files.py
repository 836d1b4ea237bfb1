"""Parsers of single annotation files: CSV tables and JAMS documents.

Each parser returns polars tables in the columns of :mod:`evaluation.annotations` and raises
:class:`AnnotationFileError` with a one-line reason (``line 4: ...``, ``annotation 2
(note_midi): ...``) for anything it cannot read exactly; the caller adds the file's name. There
is no partial result: a file is read whole or not at all, so a score never rests on part of a
file.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import polars as pl

#: Column names and types of the tables the parsers return.
NOTES_COLUMNS = {
    "onset_s": pl.Float64,
    "offset_s": pl.Float64,
    "midi_pitch": pl.Float64,
    "velocity": pl.Float64,
}
F0_COLUMNS = {"time_s": pl.Float64, "f0_hz": pl.Float64}
ONSETS_COLUMNS = {"time_s": pl.Float64, "instrument": pl.String}
TABLE_COLUMNS = {"notes": NOTES_COLUMNS, "f0": F0_COLUMNS, "onsets": ONSETS_COLUMNS}
#: Required columns per kind, by position (the others are optional).
REQUIRED = {"notes": 3, "f0": 2, "onsets": 1}
#: MIDI pitches outside this range are not notes (mir_eval's check).
MIDI_RANGE = (0.0, 150.0)
PART_NAME = re.compile(r"^[a-z0-9][a-z0-9_]*$")
#: JAMS namespaces read, and the kind of table each gives.
JAMS_NAMESPACES = {
    "note_midi": "notes",
    "note_hz": "notes",
    "pitch_contour": "f0",
    "onset": "onsets",
}


class AnnotationFileError(ValueError):
    """An annotation file that cannot be read; the message is one line without the file name."""


def empty_table(kind: str) -> pl.DataFrame:
    """A table of ``kind`` (``notes``, ``f0``, ``onsets``) without rows."""
    return pl.DataFrame(schema=TABLE_COLUMNS[kind])


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise AnnotationFileError(f"{where}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise AnnotationFileError(f"{where}: {text!r} is not finite")
    return value


def _checked(kind: str, rows: list[tuple], where: list[str]) -> pl.DataFrame:
    """Validate the rows of one table (with the location of each row) and build it sorted."""
    for row, at in zip(rows, where, strict=True):
        if row[0] < 0:
            raise AnnotationFileError(f"{at}: negative time {row[0]}")
        if kind == "notes":
            if row[1] <= row[0]:
                raise AnnotationFileError(f"{at}: offset {row[1]} s is not after onset {row[0]} s")
            if not MIDI_RANGE[0] <= row[2] <= MIDI_RANGE[1]:
                raise AnnotationFileError(f"{at}: MIDI pitch {row[2]} outside {MIDI_RANGE}")
    frame = pl.DataFrame(rows, schema=TABLE_COLUMNS[kind], orient="row")
    if kind == "f0":
        times = frame["time_s"].to_list()
        bad = next((i for i in range(1, len(times)) if times[i] <= times[i - 1]), None)
        if bad is not None:
            raise AnnotationFileError(f"{where[bad]}: frame times must increase")
        return frame
    return frame.sort(frame.columns[:3] if kind == "notes" else "time_s", maintain_order=True)


def read_csv_table(path: Path, kind: str) -> pl.DataFrame:
    """Read a notes, f0 or onsets CSV file; columns by position, an optional header row.

    Fields are separated by commas (or, in a line without a comma, by tabs or spaces); blank
    lines and lines starting with ``#`` are skipped; a first row whose first field is not a
    number is a header. Extra columns after the documented ones are ignored.
    """
    n_required = REQUIRED[kind]
    n_columns = len(TABLE_COLUMNS[kind])
    try:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
    except UnicodeDecodeError as exc:
        raise AnnotationFileError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    rows: list[tuple] = []
    where: list[str] = []
    seen_row = False
    for number, line in enumerate(lines, start=1):
        text = line.strip()
        if not text or text.startswith("#"):
            continue
        fields = [f.strip() for f in (text.split(",") if "," in text else text.split())]
        at = f"line {number}"
        if not seen_row:
            seen_row = True
            try:
                float(fields[0])
            except ValueError:
                continue  # the header row
        if len(fields) < n_required:
            raise AnnotationFileError(f"{at}: {len(fields)} columns, {kind} need {n_required}")
        values: list[Any] = [_number(f, at) for f in fields[:n_required]]
        for extra in fields[n_required:n_columns]:
            if kind == "onsets":
                values.append(extra or None)
            else:
                values.append(_number(extra, at) if extra else None)
        values += [None] * (n_columns - len(values))
        rows.append(tuple(values))
        where.append(at)
    return _checked(kind, rows, where)


def _observations(annotation: dict, at: str) -> list[dict]:
    """The observations of a JAMS annotation (sparse list or dense dict of lists)."""
    data = annotation.get("data", [])
    if isinstance(data, dict):  # the dense layout: {"time": [...], "value": [...], ...}
        keys = [k for k in ("time", "duration", "value", "confidence") if k in data]
        columns = [data[k] for k in keys]
        if "time" not in keys or not all(isinstance(c, list) for c in columns):
            raise AnnotationFileError(f"{at}: dense data needs lists time and value")
        if len({len(c) for c in columns}) != 1:
            raise AnnotationFileError(f"{at}: dense data lists differ in length")
        rows = zip(*columns, strict=True)
        return [dict(zip(keys, values, strict=True)) for values in rows]
    if not isinstance(data, list) or not all(isinstance(o, dict) for o in data):
        raise AnnotationFileError(f"{at}: data must be a list of observations")
    return data


def _jams_rows(kind: str, namespace: str, observations: list[dict], at: str) -> list[tuple]:
    rows = []
    contours = set()
    for k, obs in enumerate(observations):
        here = f"{at}, observation {k}"
        try:
            time = float(obs["time"])
            value = obs["value"]
            if namespace in ("note_midi", "note_hz"):
                pitch = float(value)
                if namespace == "note_hz":
                    if pitch <= 0:
                        raise AnnotationFileError(f"{here}: frequency {pitch} Hz is not positive")
                    pitch = 69.0 + 12.0 * math.log2(pitch / 440.0)
                duration = float(obs["duration"])
                confidence = obs.get("confidence")
                velocity = float(confidence) if isinstance(confidence, int | float) else None
                rows.append((time, time + duration, pitch, velocity))
            elif namespace == "pitch_contour":
                contours.add(value.get("index", 0))
                voiced = bool(value.get("voiced", True))
                frequency = float(value["frequency"])
                rows.append((time, abs(frequency) if voiced else 0.0))
            else:
                rows.append((time, None))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            if isinstance(exc, AnnotationFileError):
                raise
            raise AnnotationFileError(f"{here}: not a {namespace} observation ({exc!r})") from None
        if not all(math.isfinite(v) for v in rows[-1] if isinstance(v, float)):
            raise AnnotationFileError(f"{here}: not finite")
    if len(contours) > 1:
        raise AnnotationFileError(f"{at}: {len(contours)} contours; one per part is read")
    return rows


def read_jams(path: Path, default_part: str | None) -> list[tuple[str, str, pl.DataFrame]]:
    """Read a JAMS file's ``note_midi``, ``note_hz``, ``pitch_contour`` and ``onset``
    annotations as ``(kind, part, table)``; other namespaces are skipped.

    An annotation's part is its ``sandbox["part"]``, else ``default_part`` (from the file name);
    one with neither, or a second annotation of the same kind and part, makes the file
    unreadable.
    """
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise AnnotationFileError(f"not JSON ({str(exc).splitlines()[0]})") from None
    annotations = document.get("annotations") if isinstance(document, dict) else None
    if not isinstance(annotations, list):
        raise AnnotationFileError("not a JAMS document (no 'annotations' list)")
    found: dict[tuple[str, str], pl.DataFrame] = {}
    for index, annotation in enumerate(annotations):
        namespace = annotation.get("namespace") if isinstance(annotation, dict) else None
        if namespace not in JAMS_NAMESPACES:
            continue
        at = f"annotation {index} ({namespace})"
        sandbox = annotation.get("sandbox")
        part = sandbox.get("part") if isinstance(sandbox, dict) else None
        part = part if part is not None else default_part
        if part is None:
            raise AnnotationFileError(f"{at} names no part (sandbox.part)")
        if not isinstance(part, str) or not PART_NAME.match(part):
            raise AnnotationFileError(f"{at}: part {part!r} is not a lower-case name")
        kind = JAMS_NAMESPACES[namespace]
        if (kind, part) in found:
            raise AnnotationFileError(f"{at}: a second {kind} annotation of part {part!r}")
        rows = _jams_rows(kind, namespace, _observations(annotation, at), at)
        if kind == "f0":
            rows.sort(key=lambda row: row[0])
        found[kind, part] = _checked(kind, rows, [at] * len(rows))
    return [(kind, part, table) for (kind, part), table in found.items()]
