"""``stemline query``: one read-only SQL query on the catalogue, printed or written.

The result is a table (the first 200 rows), CSV or JSON on standard output, or CSV, JSON or
Parquet written atomically to a new file outside the storage root (:mod:`catalogue.results`).
Only the catalogue's query path is imported (no Dagster, essentia or TensorFlow), so the
command answers in well under a second. Every error is one line on stderr.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``query`` to the ``stemline`` parser."""
    query = sub.add_parser(
        "query",
        help="run read-only SQL on the catalogue",
        description="Run one SELECT on the catalogue (views: tracks, files, stems, "
        "pitch_frames, onsets, chroma_frames, notes, stem_summaries, evaluation, runs; "
        "see the README's catalogue schema). Writes, ATTACH, COPY and extensions are refused. "
        "Exit status: 0 answered, 1 the query failed, 2 unusable arguments.",
    )
    query.add_argument("sql", nargs="?", help="the SELECT statement (or use --example N)")
    query.add_argument(
        "--example", type=int, metavar="N", help="run the Nth README example query (1-based)"
    )
    query.add_argument(
        "--storage",
        type=Path,
        default=None,
        metavar="DIR",
        help="storage root (default: the storage_root setting, ./data)",
    )
    query.add_argument(
        "--format",
        choices=("table", "csv", "json", "parquet"),
        default="table",
        help="table (the first 200 rows), csv, json, or parquet (needs -o); lists are JSON "
        'text in CSV, and infinities are "inf"/"-inf" in both, null only when missing',
    )
    query.add_argument(
        "-o",
        "--output",
        type=Path,
        metavar="FILE",
        help="write the result to FILE, a new file outside the storage root",
    )
    query.add_argument("--force", action="store_true", help="replace FILE if it exists")
    query.add_argument(
        "--skip-unreadable",
        action="store_true",
        help="answer over the readable files of tables with damaged ones, naming each file "
        "left out on stderr (without it such a query fails and names them)",
    )
    query.add_argument(
        "--timeout", type=_seconds, metavar="SECONDS", help="stop the query after SECONDS"
    )
    query.set_defaults(func=run_query_command)


def _seconds(text: str) -> float:
    """``--timeout``: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"needs a positive number of seconds, not {text!r}")
    return value


def _error(message: object, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def run_query_command(args: argparse.Namespace) -> int:
    """``stemline query``: one read-only SELECT, printed or written.

    Nothing but the catalogue is imported (no Dagster, essentia or TensorFlow), so it answers
    in well under a second. Exit status: 0 answered; 1 the query failed (a DuckDB error, a
    table with unreadable files, ``--timeout``, the result could not be written); 2 unusable
    arguments (no SQL, a refused statement, no catalogue at ``--storage``, a refused
    ``--output``). Every error is one line on stderr.
    """
    from catalogue.connection import QueryFailed, QueryTimeout, UnreadableFilesError
    from catalogue.examples import EXAMPLES
    from catalogue.query import catalogue_problem
    from catalogue.read_only import QueryRefused, check_read_only
    from catalogue.results import OutputRefused, check_output
    from catalogue.sandbox import open_catalogue
    from catalogue.views import one_line, tables_read
    from orchestration.config import SettingsError, storage_root

    if (args.sql is None) == (args.example is None):
        return _error("give either SQL or --example N", 2)
    if args.example is not None:
        if not 1 <= args.example <= len(EXAMPLES):
            return _error(f"--example must be 1..{len(EXAMPLES)}", 2)
        sql = EXAMPLES[args.example - 1][1]
    else:
        sql = args.sql
    if args.format == "parquet" and args.output is None:
        return _error("--format parquet needs --output FILE", 2)
    try:
        check_read_only(None, sql)
        root = storage_root(args.storage)
    except (QueryRefused, SettingsError) as exc:
        return _error(exc, 2)
    problem = catalogue_problem(root)
    if problem:
        return _error(problem, 2)
    target = None
    if args.output is not None:
        try:
            target = check_output(args.output, root, args.force)
        except OutputRefused as exc:
            return _error(exc, 2)
    try:
        catalogue = open_catalogue(root, args.skip_unreadable, tables_read(sql))
    except Exception as exc:  # a folder it may not list, files DuckDB cannot combine, ...
        return _error(f"cannot open the catalogue at {root}: {one_line(str(exc))}", 1)
    with catalogue:
        if args.skip_unreadable:
            for bad in catalogue.unreadable_in(sql):
                print(f"warning: left out unreadable file {bad}", file=sys.stderr)
        try:
            with catalogue.stream(sql, timeout_s=args.timeout) as result:
                return _emit(result, args.format, target, args.force)
        except UnreadableFilesError as exc:
            for bad in exc.files:
                print(f"error: unreadable file {bad}", file=sys.stderr)
            return _error(
                f"table {exc.table} has unreadable files; --skip-unreadable answers over "
                "the readable rest",
                1,
            )
        except (QueryRefused, OutputRefused) as exc:
            return _error(exc, 2)
        except (QueryFailed, QueryTimeout) as exc:
            return _error(exc, 1)
        except OSError as exc:
            where = target if target is not None else "standard output"
            return _error(f"cannot write the result to {where}: {exc.strerror or exc}", 1)
        except Exception as exc:  # a value the encoders do not know: one line, trace if -v
            logging.getLogger("stemline").info("query failed", exc_info=exc)
            return _error(f"cannot write the result: {type(exc).__name__}: {exc}", 1)


def _emit(result, fmt: str, target: Path | None, force: bool = False) -> int:
    """Write a streamed query result as ``fmt`` to ``target`` (atomically) or stdout."""
    from catalogue import results

    def write(out) -> None:
        if fmt == "csv":
            results.write_csv(result.schema, result, out)
        elif fmt == "json":
            results.write_json(result.schema, result, out)
        else:
            out.write(results.table_preview(result.schema, result).encode())

    if target is not None:
        with results.atomic_output(target, force) as tmp:
            if fmt == "parquet":
                results.write_parquet(result.schema, result, tmp)
            else:
                with open(tmp, "wb") as out:
                    write(out)
        return 0
    sys.stdout.flush()
    try:
        write(sys.stdout.buffer)
        sys.stdout.buffer.flush()
    except OSError as exc:
        # Nothing more reaches stdout (a closed pipe, a full disk): point it at /dev/null so
        # that the interpreter's last flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        if isinstance(exc, BrokenPipeError):  # `stemline query ... | head`: not an error
            return 0
        raise
    return 0
