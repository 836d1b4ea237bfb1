"""``stemline run``: the whole pipeline on a folder, without the UI.

The folder is scanned, every new or changed track is decoded, separated, analysed, evaluated
and exported, and the catalogue is refreshed, with the same assets and storage as the Dagster
UI (:func:`orchestration.pipeline.run_folder`). The console gets a progress bar, a summary and
one line per failed track; an error that stops the run is one line too (:func:`run_error`),
with its trace only under ``--verbose``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .settings import command_settings


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``run`` to the ``stemline`` parser."""
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


def run_error(exc: BaseException, verbose: bool) -> int:
    """One line for an error that stopped a run (exit 1); the trace only with ``--verbose``."""
    from orchestration.storage_checks import StorageError

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

    from orchestration.pipeline import run_folder
    from orchestration.storage_checks import StorageError, check_storage

    missing = [d for d in args.audio_dirs if not d.is_dir()]
    if missing:
        print(f"error: not a folder: {', '.join(map(str, missing))}", file=sys.stderr)
        return 2
    settings = command_settings(args.storage, args.params, args.audio_dirs)
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
        return run_error(exc, args.verbose)
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
