"""The ``stemline`` command.

Sub-commands:

``separate``    split audio files into stems (Spleeter's CLI, see :mod:`separation.cli`)
``models``      fetch or list pretrained checkpoints
``demo-data``   write the seeded demo songs with ground truth (:mod:`demodata.cli`)
``run``         the whole pipeline on a folder, without the UI
``ui``          the Dagster UI on this project
``query``       read-only SQL on the catalogue
``demo``        the README's main job: demo songs -> pipeline -> example queries

Heavy libraries (TensorFlow, essentia) are imported only by the sub-command that needs them,
so ``stemline --help`` answers at once.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from resources.settings import StemlineSettings


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    from demodata import cli as demodata_cli
    from separation import cli as separation_cli

    parser = argparse.ArgumentParser(
        prog="stemline",
        description="Spleeter stems and per-stem MIR features for whole datasets.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    separation_cli.register(sub)
    demodata_cli.register(sub)

    run = sub.add_parser(
        "run",
        help="run the whole pipeline on a folder (no UI)",
        description="Scan AUDIO_DIR, then decode, separate, extract features, evaluate and "
        "export every new or changed track, and refresh the catalogue; the same assets and "
        "storage as the Dagster UI.",
    )
    run.add_argument("audio_dirs", nargs="+", type=Path, metavar="AUDIO_DIR")
    run.add_argument("--storage", type=Path, default=None, help="storage root (default ./data)")
    run.add_argument("-p", "--params", default=None, help="model (default spleeter:2stems)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    run.set_defaults(func=run_pipeline)

    ui = sub.add_parser(
        "ui",
        help="start the Dagster UI on this project",
        description="Start `dagster dev` (web UI and daemon) on stemline's assets. The folder "
        f"sensor is on by default: every {SENSOR_INTERVAL_S} s it scans the audio roots, adds a "
        "partition and requests a run for each new or changed track.",
    )
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.add_argument(
        "--storage",
        type=Path,
        default=None,
        metavar="DIR",
        help="storage root, an existing folder (default: the storage_root setting, ./data)",
    )
    ui.add_argument(
        "--audio-root",
        dest="audio_roots",
        type=Path,
        action="append",
        default=None,
        metavar="DIR",
        help="folder the sensor watches (repeatable; default: the audio_roots setting)",
    )
    ui.set_defaults(func=run_ui)

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

    demo = sub.add_parser(
        "demo",
        help="the main job: demo songs -> full pipeline -> example queries",
        description="Write the seeded demo songs, run the whole pipeline on them (storage under "
        "the work folder) and print example catalogue queries.",
    )
    demo.add_argument("--out", type=Path, default=Path("demo"), help="work folder (./demo)")
    demo.add_argument("--songs", type=int, default=None, help="number of demo songs")
    demo.add_argument("-p", "--params", default="spleeter:2stems", help="model configuration")
    demo.set_defaults(func=run_demo)
    return parser


def _settings(storage: Path | None = None, params: str | None = None, audio=None):
    from resources.settings import StemlineSettings

    base = StemlineSettings.load()
    values = base.model_dump()
    if storage is not None:
        values["storage_root"] = str(storage)
    if params is not None:
        values["model"] = params
    if audio is not None:
        values["audio_roots"] = [str(Path(a).absolute()) for a in audio]
    return StemlineSettings(**values)


def _run_error(exc: BaseException, verbose: bool) -> int:
    """One line for an error that stopped a run (exit 1); the trace only with ``--verbose``."""
    from orchestration.pipeline import StorageError

    if verbose:
        logging.getLogger("stemline").error("the run stopped", exc_info=exc)
    if isinstance(exc, StorageError):
        message = str(exc)
    elif isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        message = f"{where}{exc.strerror}"
    else:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        hint = "" if verbose else " (run with --verbose for the trace)"
        message = f"{type(exc).__name__}: {first}{hint}"
    print(f"error: {message}", file=sys.stderr)
    return 1


def run_pipeline(args: argparse.Namespace) -> int:
    """``stemline run``: materialise the folder's tracks and print a summary.

    Exit status: 0 when every track and the catalogue are done, 1 when a track or the
    catalogue failed or the run stopped (one line on stderr, the trace with ``--verbose``),
    2 for an unusable argument (no such audio folder, storage not a writable folder).
    """
    from tqdm import tqdm

    from orchestration.pipeline import StorageError, check_storage, run_folder

    missing = [d for d in args.audio_dirs if not d.is_dir()]
    if missing:
        print(f"error: not a folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    settings = _settings(args.storage, args.params, args.audio_dirs)
    try:
        check_storage(settings.layout.root)
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar = tqdm(desc="tracks", unit="track", disable=args.no_progress or None, file=sys.stderr)

    def progress(done: int, total: int, track_id: str) -> None:
        bar.total = total
        bar.set_postfix_str(track_id)
        bar.update(1)

    try:
        summary = run_folder(
            settings,
            progress=progress,
            log_level="INFO" if args.verbose else "CRITICAL",
            notice=lambda line: tqdm.write(line, file=sys.stderr),
        )
    except Exception as exc:  # one line, not a traceback (a damaged inventory, a full disk)
        return _run_error(exc, args.verbose)
    finally:
        bar.close()
    print(
        f"processed {len(summary.processed)}, unchanged {len(summary.skipped)}, "
        f"failed {len(summary.failed)}; catalogue: {settings.layout.catalogue}"
    )
    for track_id, error in summary.failed.items():
        print(f"  failed {track_id}: {error}")
    if summary.catalogue_error:
        print(f"  catalogue: {summary.catalogue_error}")
    return 1 if summary.failed or summary.catalogue_error else 0


#: How often the folder sensor scans (``minimum_interval_seconds`` of ``orchestration.sensors``).
SENSOR_INTERVAL_S = 30


@dataclass(frozen=True)
class UiCommand:
    """What ``stemline ui`` executes: ``dagster dev`` and the environment of its processes.

    Attributes
    ----------
    argv : list of str
        The command line (``python -m dagster dev -w workspace.yaml -h HOST -p PORT``).
    env : dict of str to str
        This process's environment with ``STEMLINE_STORAGE_ROOT`` and ``STEMLINE_AUDIO_ROOTS``
        (``os.pathsep``-separated) set to absolute paths, so the webserver, the daemon, the
        code server and every run see the same settings whatever their working directory.
    settings : StemlineSettings
        The settings those processes will read.
    url : str
        Where the UI answers.
    """

    argv: list[str]
    env: dict[str, str]
    settings: StemlineSettings
    url: str

    def startup_lines(self) -> list[str]:
        """What ``stemline ui`` prints before starting: storage, UI address, the sensor."""
        roots = [Path(r) for r in self.settings.audio_roots]
        lines = [f"storage: {self.settings.layout.root}; UI: {self.url}"]
        if roots:
            shown = ", ".join(f"{r}{'' if r.is_dir() else ' (missing)'}" for r in roots)
            lines.append(
                f"folder sensor audio_folder_sensor is on (stop it under Automation): every "
                f"{SENSOR_INTERVAL_S} s it scans {shown}, adds a partition and requests a run "
                "for each new or changed track"
            )
        else:
            lines.append(
                "folder sensor audio_folder_sensor is on but no audio roots are configured, so "
                "it scans nothing (give --audio-root DIR or set STEMLINE_AUDIO_ROOTS)"
            )
        return lines


def ui_folder_error(storage: Path | None, audio_roots: list[Path] | None) -> str | None:
    """The one-line problem with ``--storage`` / ``--audio-root`` folders, or ``None``."""
    named = [("--storage", storage)] if storage is not None else []
    named += [("--audio-root", root) for root in audio_roots or []]
    for option, folder in named:
        if not folder.exists():
            return f"{option} {folder}: no such folder"
        if not folder.is_dir():
            return f"{option} {folder}: not a folder"
    return None


def ui_command(
    host: str, port: int, storage: Path | None, audio_roots: list[Path] | None
) -> UiCommand:
    """The ``dagster dev`` command and environment of ``stemline ui``; starts nothing.

    ``storage`` and ``audio_roots`` override the settings (config file, ``STEMLINE_*``
    variables) where given; the resulting storage root and audio roots are passed on as
    absolute paths.
    """
    settings = _settings(storage, None, audio_roots)
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    argv = [sys.executable, "-m", "dagster", "dev", "-w", str(workspace)]
    argv += ["-h", host, "-p", str(port)]
    env = dict(os.environ)
    env["STEMLINE_STORAGE_ROOT"] = str(settings.layout.root)
    env["STEMLINE_AUDIO_ROOTS"] = os.pathsep.join(
        str(Path(r).absolute()) for r in settings.audio_roots
    )
    return UiCommand(argv, env, settings, f"http://{host}:{port}")


def run_ui(args: argparse.Namespace) -> int:
    """``stemline ui``: ``dagster dev`` on workspace.yaml with stemline's instance."""
    problem = ui_folder_error(args.storage, args.audio_roots)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    from orchestration.pipeline import ensure_dagster_home

    command = ui_command(args.host, args.port, args.storage, args.audio_roots)
    home = ensure_dagster_home(command.settings)
    for line in [*command.startup_lines(), f"DAGSTER_HOME={home}"]:
        print(line, file=sys.stderr)
    sys.stderr.flush()
    os.execve(sys.executable, command.argv, {**command.env, "DAGSTER_HOME": str(home)})
    return 0  # not reached


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
    from catalogue.examples import EXAMPLES
    from catalogue.query import (
        QueryFailed,
        QueryRefused,
        QueryTimeout,
        UnreadableFilesError,
        catalogue_problem,
        check_read_only,
        one_line,
        open_catalogue,
        tables_read,
    )
    from catalogue.results import OutputRefused, check_output
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


def run_demo(args: argparse.Namespace) -> int:
    """Demo songs → full pipeline → example queries."""
    import polars as pl

    from catalogue.examples import EXAMPLES
    from catalogue.query import run_query
    from demodata import write_demo_songs
    from orchestration.pipeline import StorageError, check_storage, run_folder

    kwargs = {} if args.songs is None else {"n_songs": args.songs}
    songs_dir = args.out / "songs"
    try:
        check_storage(args.out, what="--out")
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = _settings(args.out / "data", args.params, [songs_dir])
    started = time.perf_counter()
    try:
        songs = write_demo_songs(songs_dir, **kwargs)
        print(f"wrote {len(songs)} demo songs to {songs_dir}")
        summary = run_folder(
            settings,
            progress=lambda done, total, tid: print(f"  track {done}/{total} ({tid}) done"),
            log_level="INFO" if args.verbose else "CRITICAL",
            notice=lambda line: print(line, file=sys.stderr),
        )
    except Exception as exc:  # one line, not a traceback (a damaged inventory, a full disk)
        return _run_error(exc, args.verbose)
    print(
        f"pipeline: processed {len(summary.processed)}, unchanged {len(summary.skipped)}, "
        f"failed {len(summary.failed)} in {time.perf_counter() - started:.1f} s"
    )
    for track_id, error in summary.failed.items():
        print(f"  failed {track_id}: {error}")
    if summary.catalogue_error:
        print(f"  catalogue: {summary.catalogue_error}")
    for title, sql in EXAMPLES[:4] + EXAMPLES[6:7]:
        print(f"\n-- {title}\n{sql}")
        try:
            result = run_query(settings.layout.root, sql)
        except Exception as exc:  # a damaged file in storage: say so, go on with the rest
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            print(f"query failed: {type(exc).__name__}: {first}")
            continue
        with pl.Config(tbl_rows=20, fmt_str_lengths=60, tbl_width_chars=140):
            print(result)
    print(
        f"\ncatalogue: {settings.layout.catalogue}; try: stemline query --storage "
        f"{settings.layout.root} --example 6"
    )
    return 1 if summary.failed or summary.catalogue_error else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``stemline`` console script."""
    from separation.tensorflow_env import configure_tensorflow

    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    # Before anything imports TensorFlow: oneDNN on, start-up chatter only with --verbose
    # (inherited by the processes `ui` and `run` start).
    configure_tensorflow(verbose=args.verbose)
    if args.func in (run_pipeline, run_demo):
        # These compute features here: keep essentia's INFO start-up line off the console.
        # The other commands never import essentia (`query` must not), so they skip this.
        from features.worker import quiet_essentia_log

        quiet_essentia_log()
    started = time.perf_counter()
    code = args.func(args)
    logging.getLogger("stemline").info("done in %.1f s", time.perf_counter() - started)
    return code


if __name__ == "__main__":
    sys.exit(main())
