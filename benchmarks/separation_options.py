"""What ``--overlap`` and ``--mwf`` change: quality on the demo songs, seams, and cost.

For every demo song (reference stems known), separate the mixture with ``spleeter:2stems``
three ways — Spleeter's default, ``overlap=True``, ``mwf=True`` — and print, per variant, the
median global SDR of vocals and accompaniment against the references (accompaniment = drums +
bass + other), the median seam ratio (energy of the vocal stem's difference to the other
variant's output within 0.19 s of the 11.9 s segment boundaries, relative to far from them),
and the compute time relative to the default.

Usage::

    .venv/bin/python benchmarks/separation_options.py [--songs 6]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import soundfile as sf

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from demodata import write_demo_songs  # noqa: E402
from evaluation import global_sdr  # noqa: E402
from separation import Separator  # noqa: E402


def seam_mask(n: int) -> np.ndarray:
    """Samples within 8 STFT frames of a U-Net segment boundary."""
    mask = np.zeros(n, bool)
    seg = 512 * 1024
    for boundary in range(seg - 4096, n, seg):
        mask[max(0, boundary - 8 * 1024) : boundary + 8 * 1024] = True
    return mask


def main() -> int:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--songs", type=int, default=6)
    args = parser.parse_args()
    variants = {
        "default": Separator("spleeter:2stems"),
        "overlap": Separator("spleeter:2stems", overlap=True),
        "mwf": Separator("spleeter:2stems", mwf=True),
    }
    for sep in variants.values():
        sep.load().separate(np.zeros((44100, 2), np.float32), 44100)  # warm-up
    scores = {name: {"vocals": [], "accompaniment": [], "time": [], "seam": []}
              for name in variants}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for song in write_demo_songs(Path(tmp), n_songs=args.songs):
            mix, rate = sf.read(song / "mixture.wav", dtype="float32", always_2d=True)
            parts = {p: sf.read(song / f"{p}.wav", dtype="float32", always_2d=True)[0]
                     for p in ("vocals", "drums", "bass", "other")}  # fmt: skip
            refs = {"vocals": parts["vocals"],
                    "accompaniment": parts["drums"] + parts["bass"] + parts["other"]}  # fmt: skip
            outputs = {}
            for name, sep in variants.items():
                t0 = time.perf_counter()
                outputs[name] = sep.separate(mix, rate)
                scores[name]["time"].append(time.perf_counter() - t0)
                for inst, ref in refs.items():
                    if np.any(ref):
                        scores[name][inst].append(global_sdr(ref, outputs[name][inst]))
            near = seam_mask(len(mix))
            if near.any() and (~near).any():
                for name in ("overlap", "mwf"):
                    diff = np.sum((outputs[name]["vocals"] - outputs["default"]["vocals"]) ** 2,
                                  axis=1)  # fmt: skip
                    scores[name]["seam"].append(float(diff[near].mean() / diff[~near].mean()))
    base = statistics.median(scores["default"]["time"])
    print(f"{args.songs} demo songs, spleeter:2stems, global SDR in dB (median over songs)")
    print(f"{'variant':<9} {'vocals':>7} {'accomp':>7} {'time x':>7} {'seam ratio':>11}")
    for name, s in scores.items():
        seam = f"{statistics.median(s['seam']):>11.2f}" if s["seam"] else f"{'-':>11}"
        print(
            f"{name:<9} {statistics.median(s['vocals']):>7.2f} "
            f"{statistics.median(s['accompaniment']):>7.2f} "
            f"{statistics.median(s['time']) / base:>7.2f} {seam}"
        )
    print("seam ratio: mean squared change vs default near segment seams / far from them")
    return 0


if __name__ == "__main__":
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
