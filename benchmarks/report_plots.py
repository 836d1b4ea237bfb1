"""Time of the dataset report's plots: four 30 s stems' spectrograms and a pitch contour.

The report draws one track's stems (``reporting.stem_spectrograms_png``, target under 1 s for
four 30 s stems) and its vocal pitch contour (``reporting.pitch_contour_png``) on every
``dataset_report`` materialisation. Seeded synthetic stems (a 440 Hz tone, noise, a 55 Hz tone,
silence); the first call pays matplotlib's one-off set-up and is reported apart. Prints the
median and best of ``--repeats`` calls and the PNG sizes. Not part of the test suite (timing
depends on the machine and its load).

Usage::

    .venv/bin/python benchmarks/report_plots.py [--repeats 5] [--seconds 30]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from demodata.signals import four_stems
from reporting import pitch_contour_png, stem_spectrograms_png

SR = 44100
TARGET_S = 1.0


def timed(call: Callable[[], bytes], repeats: int) -> tuple[float, list[float], int]:
    """First-call seconds, the following calls' seconds, and the PNG size in bytes."""
    start = time.perf_counter()
    png = call()
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        png = call()
        times.append(time.perf_counter() - start)
    return first, times, len(png)


def main() -> int:
    """Print the timings of both plots."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args()
    stems = four_stems(args.seconds)
    frames = np.arange(int(args.seconds * 100))
    pitch = pl.DataFrame(
        {"time_s": frames / 100.0, "f0_hz": np.full(frames.size, 440.0), "voiced": 1}
    )
    cases = {
        "stem spectrograms (4 stems)": lambda: stem_spectrograms_png(
            stems, SR, title="bench", max_seconds=args.seconds
        ),
        "vocal pitch contour": lambda: pitch_contour_png(
            stems["vocals"], SR, pitch, title="bench", max_seconds=args.seconds
        ),
    }
    print(f"{args.seconds:g} s stems at {SR} Hz, {args.repeats} repeats after a first call")
    for name, call in cases.items():
        first, times, size = timed(call, args.repeats)
        verdict = ""
        if name.startswith("stem"):
            met = min(times) < TARGET_S
            verdict = f"  target < {TARGET_S:g} s: {'met' if met else 'NOT met'}"
        print(
            f"{name}: first {first:.2f} s, median {statistics.median(times):.3f} s, "
            f"best {min(times):.3f} s, PNG {size / 1000:.0f} kB{verdict}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
