"""The ``stemline`` command.

Sub-commands:

``separate``    split audio files into stems (Spleeter's CLI, see :mod:`separation.cli`)
``models``      fetch or list pretrained checkpoints
``demo-data``   write the seeded demo songs with ground truth (:mod:`demodata.cli`)
``demo``        the README's main job on the bundled demo data

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
    demo = sub.add_parser(
        "demo",
        help="the main job on the bundled demo data",
        description="Write the demo songs, separate every mixture with spleeter:2stems and "
        "report speed and separation quality against the reference stems.",
    )
    demo.add_argument("--out", type=Path, default=Path("demo"), help="work folder (./demo)")
    demo.add_argument("--songs", type=int, default=None, help="number of demo songs")
    demo.add_argument("-p", "--params", default="spleeter:2stems", help="model configuration")
    demo.set_defaults(func=run_demo)
    return parser


def run_demo(args: argparse.Namespace) -> int:
    """Generate the demo songs, separate them, print a per-song table."""
    import numpy as np
    import soundfile as sf

    from demodata import write_demo_songs
    from separation import Separator

    kwargs = {} if args.songs is None else {"n_songs": args.songs}
    songs = write_demo_songs(args.out / "songs", **kwargs)
    separator = Separator(args.params)
    print(f"{'song':<18} {'seconds':>8} {'x realtime':>10}  global SDR per stem (dB)")
    failures = 0
    for song in songs:
        mixture = song / "mixture.wav"
        try:
            result = separator.separate_to_file(
                mixture, args.out / "stems", filename_format=f"{song.name}/{{instrument}}.{{codec}}"
            )
        except Exception as exc:
            print(f"{song.name:<18} failed: {exc}")
            failures += 1
            continue
        scores = []
        for inst, path in result.stems.items():
            est, _ = sf.read(path, dtype="float32", always_2d=True)
            ref = _reference(song, inst)
            if ref is None or not np.any(ref):
                scores.append(f"{inst} -")
                continue
            err = np.sum((ref - est[: len(ref)]) ** 2)
            scores.append(f"{inst} {10 * np.log10(np.sum(ref**2) / max(err, 1e-20)):.1f}")
        print(
            f"{song.name:<18} {result.duration_s:>8.1f} "
            f"{result.duration_s / result.seconds:>10.1f}  " + ", ".join(scores)
        )
    print(f"stems written under {args.out / 'stems'}")
    return 1 if failures else 0


def _reference(song: Path, instrument: str):
    """Reference stem for ``instrument`` from the song's parts (accompaniment = the rest)."""
    import numpy as np
    import soundfile as sf

    parts = {p.stem: p for p in song.glob("*.wav") if p.stem != "mixture"}
    if instrument in parts:
        return sf.read(parts[instrument], dtype="float32", always_2d=True)[0]
    if instrument == "accompaniment":
        others = [sf.read(p, dtype="float32", always_2d=True)[0] for n, p in parts.items()
                  if n != "vocals"]  # fmt: skip
        return np.sum(others, axis=0) if others else None
    return None


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
