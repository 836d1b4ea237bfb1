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
import os
import sys
import time
from pathlib import Path


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

    ui = sub.add_parser("ui", help="start the Dagster UI on this project")
    ui.add_argument("--host", default="127.0.0.1")
    ui.add_argument("--port", type=int, default=3000)
    ui.set_defaults(func=run_ui)

    query = sub.add_parser(
        "query",
        help="run read-only SQL on the catalogue",
        description="Run one SELECT on the catalogue (views: tracks, files, stems, "
        "pitch_frames, onsets, chroma_frames, notes, stem_summaries, evaluation, runs; "
        "see the README's catalogue schema). Writes, ATTACH, COPY and extensions are refused.",
    )
    query.add_argument("sql", nargs="?", help="the SELECT statement (or use --example N)")
    query.add_argument("--example", type=int, help="run the Nth README example query (1-based)")
    query.add_argument("--storage", type=Path, default=None, help="storage root (default ./data)")
    query.add_argument("--format", choices=("table", "csv", "json", "parquet"), default="table")
    query.add_argument("-o", "--output", type=Path, help="write the result here (parquet needs it)")
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
    from assets.settings import StemlineSettings

    base = StemlineSettings.load()
    values = base.model_dump()
    if storage is not None:
        values["storage_root"] = str(storage)
    if params is not None:
        values["model"] = params
    if audio is not None:
        values["audio_roots"] = [str(Path(a).absolute()) for a in audio]
    return StemlineSettings(**values)


def run_pipeline(args: argparse.Namespace) -> int:
    """``stemline run``: materialise the folder's tracks and print a summary."""
    from tqdm import tqdm

    from orchestration.pipeline import run_folder

    missing = [d for d in args.audio_dirs if not d.is_dir()]
    if missing:
        print(f"error: not a folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    settings = _settings(args.storage, args.params, args.audio_dirs)
    bar = tqdm(desc="tracks", unit="track", disable=args.no_progress or None, file=sys.stderr)

    def progress(done: int, total: int, track_id: str) -> None:
        bar.total = total
        bar.set_postfix_str(track_id)
        bar.update(1)

    try:
        summary = run_folder(
            settings, progress=progress, log_level="INFO" if args.verbose else "WARNING"
        )
    finally:
        bar.close()
    print(
        f"processed {len(summary.processed)}, unchanged {len(summary.skipped)}, "
        f"failed {len(summary.failed)}; catalogue: {settings.layout.catalogue}"
    )
    for track_id, error in summary.failed.items():
        print(f"  failed {track_id}: {error}")
    return 1 if summary.failed else 0


def run_ui(args: argparse.Namespace) -> int:
    """``stemline ui``: ``dagster dev`` on workspace.yaml with stemline's instance."""
    from orchestration.pipeline import ensure_dagster_home

    home = ensure_dagster_home(_settings())
    workspace = Path(__file__).resolve().parent.parent / "workspace.yaml"
    cmd = [
        sys.executable,
        "-m",
        "dagster",
        "dev",
        "-w",
        str(workspace),
        "-h",
        args.host,
        "-p",
        str(args.port),
    ]
    print(f"DAGSTER_HOME={home}; open http://{args.host}:{args.port}", file=sys.stderr)
    os.execv(sys.executable, cmd)
    return 0  # not reached


def run_query_command(args: argparse.Namespace) -> int:
    """``stemline query``: one read-only SELECT, printed or written."""
    from catalogue.examples import EXAMPLES
    from catalogue.query import QueryRefused, run_query

    if (args.sql is None) == (args.example is None):
        print("error: give either SQL or --example N", file=sys.stderr)
        return 2
    if args.example is not None:
        if not 1 <= args.example <= len(EXAMPLES):
            print(f"error: --example must be 1..{len(EXAMPLES)}", file=sys.stderr)
            return 2
        sql = EXAMPLES[args.example - 1][1]
    else:
        sql = args.sql
    settings = _settings(args.storage)
    try:
        frame = run_query(settings.layout.root, sql)
    except QueryRefused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # DuckDB errors: bad SQL, unknown column, ...
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return _emit(frame, args.format, args.output)


def _emit(frame, fmt: str, output: Path | None) -> int:
    import polars as pl

    if fmt == "parquet":
        if output is None:
            print("error: --format parquet needs --output FILE", file=sys.stderr)
            return 2
        frame.write_parquet(output)
        return 0
    if fmt == "csv":
        text = frame.write_csv()
    elif fmt == "json":
        text = frame.write_json()
    else:
        with pl.Config(tbl_rows=200, tbl_cols=20, fmt_str_lengths=80, tbl_width_chars=160):
            text = str(frame)
    if output is not None:
        output.write_text(text)
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 0


def run_demo(args: argparse.Namespace) -> int:
    """Demo songs → full pipeline → example queries."""
    import polars as pl

    from catalogue.examples import EXAMPLES
    from catalogue.query import run_query
    from demodata import write_demo_songs
    from orchestration.pipeline import run_folder

    kwargs = {} if args.songs is None else {"n_songs": args.songs}
    songs_dir = args.out / "songs"
    songs = write_demo_songs(songs_dir, **kwargs)
    print(f"wrote {len(songs)} demo songs to {songs_dir}")
    settings = _settings(args.out / "data", args.params, [songs_dir])
    started = time.perf_counter()
    summary = run_folder(
        settings,
        progress=lambda done, total, tid: print(f"  track {done}/{total} ({tid}) done"),
    )
    print(
        f"pipeline: processed {len(summary.processed)}, unchanged {len(summary.skipped)}, "
        f"failed {len(summary.failed)} in {time.perf_counter() - started:.1f} s"
    )
    for title, sql in EXAMPLES[:4] + EXAMPLES[6:7]:
        print(f"\n-- {title}\n{sql}")
        with pl.Config(tbl_rows=20, fmt_str_lengths=60, tbl_width_chars=140):
            print(run_query(settings.layout.root, sql))
    print(
        f"\ncatalogue: {settings.layout.catalogue}; try: stemline query --storage "
        f"{settings.layout.root} --example 6"
    )
    return 1 if summary.failed else 0


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``stemline`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    started = time.perf_counter()
    code = args.func(args)
    logging.getLogger("stemline").info("done in %.1f s", time.perf_counter() - started)
    return code


if __name__ == "__main__":
    sys.exit(main())
