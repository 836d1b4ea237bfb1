"""The ``stemline`` command: its argument parser and its entry point, :func:`main`.

Sub-commands:

``separate``    split audio files into stems (Spleeter's CLI, see :mod:`separation.cli`)
``engine``      a warm separation engine that ``separate`` uses (:mod:`separation.engine_command`)
``models``      fetch or list pretrained models (:mod:`orchestration.commands.models`)
``kit``         pack what a GPU host needs (:mod:`orchestration.commands.kit`)
``demo-data``   write the seeded demo songs with ground truth (:mod:`demodata.cli`)
``run``         the whole pipeline on a folder, without the UI (:mod:`orchestration.commands.run`)
``ui``          the Dagster UI on this project (:mod:`orchestration.commands.ui`)
``query``       read-only SQL on the catalogue (:mod:`orchestration.commands.query`)
``demo``        the README's main job: demo songs -> pipeline -> example queries
                (:mod:`orchestration.commands.demo`)

Heavy libraries (TensorFlow, essentia) are imported only by the sub-command that needs them,
so ``stemline --help`` answers at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time

from orchestration.commands import demo, kit, models, query, run, ui
from orchestration.commands.demo import run_demo
from orchestration.commands.run import run_pipeline


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every sub-command registered."""
    from demodata import cli as demodata_cli
    from separation import cli as separation_cli
    from separation import engine_command

    parser = argparse.ArgumentParser(
        prog="stemline",
        description="Spleeter stems and per-stem MIR features for whole datasets.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress details")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    separation_cli.register(sub)
    engine_command.register(sub)
    models.register(sub)
    kit.register(sub)
    demodata_cli.register(sub)
    run.register(sub)
    ui.register(sub)
    query.register(sub)
    demo.register(sub)
    return parser


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


def console() -> None:
    """The ``stemline`` console script: :func:`main`, then exit at once with its status.

    Once a command has returned, everything it wrote is closed and its workers are shut down;
    what is left is the interpreter tearing down thousands of loaded objects (Dagster, DuckDB,
    polars), 1-6 s of a ``stemline run`` on a 2-core machine. So the standard streams and the
    logging handlers are flushed and the process ends without that teardown. An exception
    still unwinds normally, with its traceback; ``main``'s return value is the exit status.
    """
    code = main()
    logging.shutdown()
    flushed = [_flush(stream) for stream in (sys.stdout, sys.stderr)]
    # As Python's own exit: output that could not be written makes the status 120.
    os._exit(code if code or all(flushed) else 120)


def _flush(stream) -> bool:
    """Flush ``stream``; ``False`` when what it holds cannot be written (a full disk, a closed
    pipe). A stream the command closed itself has nothing left to write."""
    try:
        stream.flush()
    except ValueError:  # closed
        return True
    except OSError:
        return False
    return True


if __name__ == "__main__":
    console()
