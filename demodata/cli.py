"""The ``demo-data`` sub-command: ``stemline demo-data OUT_DIR [--songs N] [--seed S]
[--duration SECONDS]``.

``register(subparsers)`` adds it to an :mod:`argparse` parser; the handler returns the
process exit code (0 on success, 2 on invalid arguments).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from demodata.defaults import DEFAULT_N_SONGS


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``demo-data`` sub-command to ``subparsers`` and return its parser."""
    parser = subparsers.add_parser(
        "demo-data",
        help="write seeded demo songs with stems and ground-truth annotations",
        description="Render seeded multitrack demo songs in the MUSDB18 layout "
        "(<song>/mixture.wav, vocals.wav, drums.wav, bass.wav, other.wav) with "
        "ground-truth notes, f0 and drum onsets under <song>/annotations/.",
    )
    parser.add_argument("out_dir", type=Path, metavar="OUT_DIR", help="folder to write into")
    parser.add_argument(
        "--songs",
        type=int,
        default=DEFAULT_N_SONGS,
        help=f"number of songs (default {DEFAULT_N_SONGS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the set (default 0)")
    parser.add_argument(
        "--duration",
        type=float,
        default=None,
        metavar="SECONDS",
        help="length of every song (default: 20-30 s each)",
    )
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Handle ``demo-data``: write the songs and print one line per song."""
    if args.songs < 1:
        print(f"error: --songs must be at least 1, got {args.songs}")
        return 2
    if args.duration is not None and args.duration < 2.0:
        print(f"error: --duration must be at least 2 s, got {args.duration}")
        return 2
    from demodata.songs import write_demo_songs  # numpy, scipy, mir_eval: only when writing

    start = time.perf_counter()
    paths = write_demo_songs(
        args.out_dir, n_songs=args.songs, seed=args.seed, duration_s=args.duration
    )
    for path in paths:
        print(path)
    print(f"wrote {len(paths)} songs to {args.out_dir} in {time.perf_counter() - start:.1f} s")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``demo-data`` on its own (``python -m demodata.cli OUT_DIR``)."""
    parser = argparse.ArgumentParser(prog="demodata")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["demo-data", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
