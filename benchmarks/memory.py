"""Peak memory of file-to-file separation against duration: is it flat up to an hour?

For each duration (default 3, 10 and 60 minutes of seeded synthetic stereo at 44.1 kHz, written
as 16-bit WAV) a fresh process runs ``Separator.separate_to_file`` with ``spleeter:2stems``
(stems written as FLAC, as the pipeline does) and reports its peak RSS (``ru_maxrss``: the
whole process, TensorFlow runtime included), the seconds taken and x-realtime. Target: at most
1.2 GB at 60 minutes, and flat in duration. The baseline row is the same process that only
imports TensorFlow and loads the model.

TensorFlow and Keras import ``jax`` whenever it is installed (``tensorflow.lite`` and Keras'
Orbax callback try to), which adds ~150 MB to every process. ``jax`` is in stemline's ``dev``
extra for the cross-backend test only, so ``--no-jax`` measures what a production install
(``pip install stemline[cpu]``) uses by hiding ``jax`` from the child's imports.

Usage::

    .venv/bin/python benchmarks/memory.py [--minutes 3 10 60]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, resource, sys, time
job = json.loads(sys.argv[1])
if job["no_jax"]:  # as if jax were not installed: TensorFlow and Keras import it if present

    class NoJax:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("jax", "jaxlib"):
                raise ImportError(f"{name} hidden by benchmarks/memory.py")

    sys.meta_path.insert(0, NoJax())
from separation import Separator
sep = Separator("spleeter:2stems", chunk_segments=job["chunk_segments"]).load()
result = {"after_load_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if job["wav"]:
    t0 = time.perf_counter()
    sep.separate_to_file(job["wav"], job["out"], codec="flac")
    result["seconds"] = time.perf_counter() - t0
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""


def write_track(path: Path, seconds: float) -> None:
    """Write ``seconds`` of the seeded synthetic track as 16-bit WAV, a minute at a time."""
    import soundfile as sf

    sys.path.insert(0, str(REPO))
    from demodata.signals import synthetic_mix

    minute = synthetic_mix(60.0, seed=0)
    left = int(seconds * 44100)
    with sf.SoundFile(path, "w", 44100, 2, "PCM_16") as fh:
        while left > 0:
            block = minute[: min(left, len(minute))]
            fh.write(block)
            left -= len(block)


def run_child(job: dict) -> dict:
    """One measurement in a fresh process."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(job)],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    """Measure and print peak RSS per duration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, nargs="+", default=[3.0, 10.0, 60.0])
    parser.add_argument(
        "--no-jax", action="store_true", help="hide jax, as in an install without the dev extra"
    )
    parser.add_argument(
        "--chunk-segments", type=int, default=None, help="segments per chunk (default: device's)"
    )
    args = parser.parse_args()
    print(
        f"machine: {os.cpu_count()} CPUs; jax hidden: {args.no_jax}; "
        f"chunk segments: {args.chunk_segments or 'default'}"
    )
    print(f"{'audio':>8} {'seconds':>8} {'x rt':>6} {'peak RSS MB':>12}")
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        common = {"no_jax": args.no_jax, "chunk_segments": args.chunk_segments}
        base = run_child({"wav": None, "out": None, **common})
        print(f"{'(load)':>8} {'':>8} {'':>6} {base['peak_rss_mb']:>12.0f}", flush=True)
        peaks = []
        for minutes in args.minutes:
            wav = tmp / f"in_{minutes:g}min.wav"
            write_track(wav, minutes * 60)
            res = run_child({"wav": str(wav), "out": str(tmp / "out"), **common})
            wav.unlink()
            peaks.append(res["peak_rss_mb"])
            print(
                f"{minutes:>6g} m {res['seconds']:>8.1f} {minutes * 60 / res['seconds']:>6.1f} "
                f"{res['peak_rss_mb']:>12.0f}",
                flush=True,
            )
    verdict = "met" if peaks[-1] <= 1200 else "NOT met"
    print(
        f"peak RSS at {args.minutes[-1]:g} min / at {args.minutes[0]:g} min: "
        f"{peaks[-1] / peaks[0]:.3f}; target <= 1200 MB at the longest: {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # not benchmarks/separation.py
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
