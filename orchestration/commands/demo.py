"""``stemline demo``: the README's main job, demo songs to pipeline to example queries.

Writes the seeded demo songs (:mod:`demodata`) under the work folder, runs the whole pipeline
on them with storage under the same folder (:func:`orchestration.pipeline.run_folder`), and
prints the README's example catalogue queries with their results.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from .run import run_error
from .settings import command_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``demo`` to the ``stemline`` parser."""
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


def run_demo(args: argparse.Namespace) -> int:
    """Demo songs → full pipeline → example queries."""
    import polars as pl

    from catalogue.examples import EXAMPLES
    from catalogue.query import run_query
    from demodata import write_demo_songs
    from orchestration.pipeline import run_folder
    from orchestration.storage_checks import StorageError, check_storage

    kwargs = {} if args.songs is None else {"n_songs": args.songs}
    songs_dir = args.out / "songs"
    try:
        check_storage(args.out, what="--out")
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    settings = command_settings(args.out / "data", args.params, [songs_dir])
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
        return run_error(exc, args.verbose)
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
