"""Write a query's result: CSV, JSON or Parquet streamed batch by batch, or a table preview,
to standard output or to a file that is checked first and replaced atomically.

Encodings (the same in CSV cells and JSON values):

- a missing value (SQL ``NULL``) is an empty CSV cell and JSON ``null``;
- non-finite floats are the text ``inf``, ``-inf`` and ``nan`` (JSON strings ``"inf"``,
  ``"-inf"``, ``"nan"``), so that a non-finite value (an undefined evaluation score stored as
  NaN, a query's own ``'-inf'::DOUBLE``) is not confused with a missing value; ``float(text)``
  reads all three back (stored dBFS levels are finite: silence is -120 dBFS, see
  :mod:`catalogue.schema`);
- floats are written with the shortest digits that read back to the same value (a ``FLOAT``
  ``0.1`` is ``0.1``, not ``0.10000000149011612``);
- lists, arrays, structs and maps are JSON text in CSV (``[0.5,"-inf",null]``) and JSON values
  in JSON; timestamps, dates and times are ISO 8601 text; binary values are hex text.

JSON output is one array of row objects, one row per line. Results are never held whole in
memory: each batch is encoded and written before the next is read.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import io
import json
import math
import os
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import pyarrow as pa
import pyarrow.compute as pc

FORMATS = ("table", "csv", "json", "parquet")
#: Rows the table format shows.
TABLE_ROWS = 200


class OutputRefused(ValueError):
    """The output path is not one stemline writes to; the message says why."""


def _shortest_floats(array: pa.Array) -> pa.Array:
    """``array`` with every float32 (at any depth) widened to the float64 of its shortest
    decimal text, so that Python prints it as DuckDB and polars do (``0.1``). Arrays this does
    not know how to rebuild are returned as they are (their floats then print in full)."""
    try:
        return _widen(array)
    except (pa.ArrowException, ValueError, TypeError):
        return array


def _widen(array: pa.Array) -> pa.Array:
    kind = array.type
    if pa.types.is_float32(kind) or pa.types.is_float16(kind):
        return pc.cast(pc.cast(array, pa.string()), pa.float64())
    if array.offset and (pa.types.is_nested(kind)):
        array = pa.concat_arrays([array])  # re-base a sliced array on offset 0
    mask = array.is_null() if array.null_count else None
    if pa.types.is_list(kind) or pa.types.is_large_list(kind):
        cls = pa.ListArray if pa.types.is_list(kind) else pa.LargeListArray
        return cls.from_arrays(array.offsets, _widen(array.values), mask=mask)
    if pa.types.is_fixed_size_list(kind):
        return pa.FixedSizeListArray.from_arrays(_widen(array.values), kind.list_size, mask=mask)
    if pa.types.is_struct(kind):
        children = [_widen(child) for child in array.flatten()]
        return pa.StructArray.from_arrays(children, names=[f.name for f in kind], mask=mask)
    return array


def _rows(batch: pa.RecordBatch) -> list[list]:
    """The batch's rows as lists of Python values (floats at their shortest digits)."""
    columns = [_shortest_floats(column).to_pylist() for column in batch.columns]
    return [list(row) for row in zip(*columns, strict=True)] if columns else []


def json_value(value: object) -> object:
    """A Python value of a query result as a JSON-ready value (see the module's encodings)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, decimal.Decimal):
        if not value.is_finite():
            return json_value(float(value))
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, pa.MonthDayNano):  # an INTERVAL
        return {"months": value.months, "days": value.days, "nanoseconds": value.nanoseconds}
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_value(v) for v in value]
    return str(value)


def _json_text(value: object) -> str:
    return json.dumps(json_value(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def csv_cell(value: object) -> str:
    """One CSV cell (see the module's encodings)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list, tuple)):
        return _json_text(value)
    plain = json_value(value)
    return repr(plain) if isinstance(plain, float) else str(plain)


def write_csv(schema: pa.Schema, batches: Iterable[pa.RecordBatch], out: IO[bytes]) -> int:
    """Write a header and every row as CSV to ``out``; returns the rows written."""
    text = io.TextIOWrapper(out, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(schema.names)
    rows = 0
    for batch in batches:
        writer.writerows([csv_cell(v) for v in row] for row in _rows(batch))
        rows += batch.num_rows
    text.flush()
    text.detach()
    return rows


def write_json(schema: pa.Schema, batches: Iterable[pa.RecordBatch], out: IO[bytes]) -> int:
    """Write every row as a JSON array of objects, one row per line; returns the rows."""
    names = schema.names
    rows = 0
    out.write(b"[")
    for batch in batches:
        lines = []
        for row in _rows(batch):
            obj = dict(zip(names, row, strict=True))
            lines.append(("," if rows else "") + "\n" + _json_text(obj))
            rows += 1
        out.write("".join(lines).encode())
    out.write(b"\n]\n" if rows else b"]\n")
    return rows


def write_parquet(schema: pa.Schema, batches: Iterable[pa.RecordBatch], path: Path) -> int:
    """Write every row to the Parquet file ``path``; returns the rows written."""
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        for batch in batches:
            writer.write_batch(batch)
            rows += batch.num_rows
    return rows


def table_preview(
    schema: pa.Schema, batches: Iterable[pa.RecordBatch], limit: int = TABLE_ROWS
) -> str:
    """The first ``limit`` rows as a text table, and how many more rows the result has (the
    rest is counted batch by batch, not kept)."""
    import polars as pl

    kept: list[pa.RecordBatch] = []
    held = more = 0
    for batch in batches:
        if held < limit:
            part = batch.slice(0, limit - held)
            kept.append(part)
            held += part.num_rows
            more += batch.num_rows - part.num_rows
        else:
            more += batch.num_rows
    frame = pl.from_arrow(pa.Table.from_batches(kept, schema=schema))
    with pl.Config(tbl_rows=limit, tbl_cols=20, fmt_str_lengths=80, tbl_width_chars=160):
        text = str(frame)
    if more:
        text += (
            f"\n… and {more:,} more rows not shown (--format csv, json or parquet with "
            "-o FILE writes them all)"
        )
    return text + "\n"


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def check_output(path: Path, storage_root: Path, force: bool = False) -> Path:
    """Where a result for ``path`` may be written; raises :class:`OutputRefused` otherwise.

    Refused: a folder that does not exist; anything inside the storage root (also through a
    link), so that a result never replaces stemline's own files; an existing file unless
    ``force``; an existing folder, device or pipe even with ``force``. The returned path has
    its folder resolved, so that the file written is the one checked; a link at ``path`` itself
    is replaced (with ``force``), never followed.
    """
    parent = path.absolute().parent
    if not parent.is_dir():
        raise OutputRefused(f"cannot write {path}: the folder {parent} does not exist")
    target = parent.resolve() / path.name
    root = Path(storage_root).resolve()
    if _inside(target, root):
        raise OutputRefused(
            f"refused to write {path}: it is inside the storage root {root}; "
            "write query results elsewhere"
        )
    if os.path.lexists(target):
        if not (target.is_symlink() or target.is_file()):
            raise OutputRefused(f"refused to write {path}: it exists and is not a regular file")
        if not force:
            what = "a link" if target.is_symlink() else "a file"
            raise OutputRefused(f"refused to write {path}: {what} is there; --force replaces it")
    return target


@contextmanager
def atomic_output(target: Path, force: bool = False) -> Iterator[Path]:
    """Yield a new temporary file beside ``target``; when the block succeeds it becomes
    ``target`` (without ``force``, only if nothing appeared there meanwhile). The temporary
    file is removed if the block fails."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    os.close(fd)
    try:
        yield tmp
        if force:
            os.replace(tmp, target)
        else:
            try:
                os.link(tmp, target, follow_symlinks=False)  # fails if target exists
            except FileExistsError:
                raise OutputRefused(
                    f"refused to write {target}: a file appeared there; --force replaces it"
                ) from None
            except OSError:  # no hard links on this file system
                if os.path.lexists(target):
                    raise OutputRefused(
                        f"refused to write {target}: a file appeared there; --force replaces it"
                    ) from None
                os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
