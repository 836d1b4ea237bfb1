"""Separation speed and memory: stemline vs original Spleeter, measured in one run.

For each input duration (default 30 s, 3 min, 10 min of seeded synthetic stereo at 44.1 kHz)
a fresh process separates it with ``spleeter:2stems`` and reports

* ``load`` — seconds to fetch, verify and build the model (weights from the converted cache);
* ``separate`` — median seconds of ``Separator.separate(waveform)`` over ``--repeats`` runs
  after one warm-up (waveform in memory → stems in memory, like Spleeter's ``separate``);
* ``file`` — seconds of ``separate_to_file`` (decode → stems written as WAV), streamed;
* x-realtime and the process's peak RSS for the file path (``separate`` returns whole arrays,
  so its memory grows with duration by design).

When the side environment with original Spleeter 2.4.2 exists (``scripts/make_golden.py``
creates it at ``.spleeter-ref/venv``), the same waveform goes through Spleeter's
``Separator.separate`` in its own fresh process, and the ratio is printed.

Usage::

    .venv/bin/python benchmarks/separation.py [--durations 30 180 600] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: The 2stems U-Net's arithmetic per second of stereo audio (2 x 6.10 GMAC per 11.89 s segment).
GFLOP_PER_AUDIO_S = 2.05
SPLEETER_VENV = REPO / ".spleeter-ref" / "venv"

STEMLINE_CHILD = r"""
import json, resource, sys, time
import numpy as np
from separation import Separator
job = json.loads(sys.argv[1])
wave = np.load(job["input"], mmap_mode="r")
t0 = time.perf_counter()
sep = Separator("spleeter:2stems", chunk_segments=job["chunk_segments"]).load()
load = time.perf_counter() - t0
result = {"load": load}
if job["mode"] == "file":
    t0 = time.perf_counter()
    sep.separate_to_file(job["wav"], job["out"])
    result["file"] = time.perf_counter() - t0
else:
    sep.separate(np.asarray(wave[: 44100]), 44100)  # warm-up: traces the graph
    times = []
    for _ in range(job["repeats"]):
        t0 = time.perf_counter(); sep.separate(np.asarray(wave), 44100)
        times.append(time.perf_counter() - t0)
    result["separate"] = times
result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(result))
"""

SPLEETER_CHILD = r"""
import json, resource, sys, time
import numpy as np
from spleeter.separator import Separator
job = json.loads(sys.argv[1])
wave = np.load(job["input"])
t0 = time.perf_counter(); sep = Separator("spleeter:2stems", multiprocess=False)
sep.separate(wave[:44100]); load = time.perf_counter() - t0   # builds the estimator
times = []
for _ in range(job["repeats"]):
    t0 = time.perf_counter(); sep.separate(wave); times.append(time.perf_counter() - t0)
print(json.dumps({"load": load, "separate": times,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def synthetic_track(seconds: float, seed: int = 0):
    """Seeded stereo music-like test signal (tones, bass, noise hits) at 44.1 kHz."""
    import numpy as np

    sys.path.insert(0, str(REPO))
    from demodata.signals import synthetic_mix

    block = synthetic_mix(min(seconds, 60.0), seed=seed)
    reps = int(np.ceil(seconds / 60.0))
    return np.tile(block, (reps, 1))[: int(seconds * 44100)]


def run_child(python: Path, code: str, job: dict, env: dict | None = None) -> dict:
    """Run one measurement in a fresh process and parse its JSON line."""
    proc = subprocess.run(
        [str(python), "-c", code, json.dumps(job)],
        capture_output=True, text=True, env=env, cwd=job.get("cwd"), check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def spleeter_env(tmp: Path) -> dict:
    """Environment for Spleeter with stemline's verified 2stems checkpoint (no download)."""
    sys.path.insert(0, str(REPO))
    from separation.provider import ModelProvider

    files = ModelProvider().get("2stems")
    root = tmp / "pretrained_models" / "2stems"
    root.mkdir(parents=True)
    for member in ("model.index", "model.data-00000-of-00001", "model.meta", "checkpoint"):
        (root / member).symlink_to(files.directory / member)
    (root / ".probe").write_text("OK")
    return {"MODEL_PATH": str(root.parent), "PATH": "/usr/bin:/bin", "TF_CPP_MIN_LOG_LEVEL": "2"}


def main() -> int:
    """Measure and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--durations", type=float, nargs="+", default=[30.0, 180.0, 600.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-spleeter", action="store_true", help="skip original Spleeter")
    parser.add_argument(
        "--chunk-segments", type=int, default=None, help="segments per chunk (default: device's)"
    )
    args = parser.parse_args()
    import numpy as np
    import soundfile as sf

    have_spleeter = (SPLEETER_VENV / "bin" / "python").exists() and not args.no_spleeter
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    print(
        f"machine: {os.cpu_count()} CPUs; spleeter side env: {have_spleeter}; "
        f"chunk segments: {args.chunk_segments or 'default'}"
    )
    header = (
        f"{'audio s':>8} {'load s':>7} {'sep s':>7} {'x rt':>6} {'file s':>7} {'x rt':>6} "
        f"{'RSS MB':>7} {'GFLOP/s':>7}"
    )
    if have_spleeter:
        header += f" | {'spl s':>7} {'x rt':>6} {'RSS MB':>7} {'speedup':>7}"
    print(header)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        spl_env = spleeter_env(tmp) if have_spleeter else None
        for seconds in args.durations:
            wave = synthetic_track(seconds)
            npy, wav = tmp / f"in_{seconds:.0f}.npy", tmp / f"in_{seconds:.0f}.wav"
            np.save(npy, wave)
            sf.write(wav, wave, 44100, subtype="FLOAT")
            job = {"input": str(npy), "wav": str(wav), "out": str(tmp / "out"),
                   "repeats": args.repeats, "chunk_segments": args.chunk_segments}  # fmt: skip
            mem = run_child(Path(sys.executable), STEMLINE_CHILD, {**job, "mode": "memory"}, env)
            fil = run_child(Path(sys.executable), STEMLINE_CHILD, {**job, "mode": "file"}, env)
            sep_s = statistics.median(mem["separate"])
            row = (
                f"{seconds:>8.0f} {mem['load']:>7.2f} {sep_s:>7.2f} {seconds / sep_s:>6.1f} "
                f"{fil['file']:>7.2f} {seconds / fil['file']:>6.1f} {fil['peak_rss_mb']:>7.0f} "
                f"{GFLOP_PER_AUDIO_S * seconds / sep_s:>7.1f}"
            )
            if have_spleeter:
                spl = run_child(
                    SPLEETER_VENV / "bin" / "python", SPLEETER_CHILD,
                    {**job, "repeats": max(1, args.repeats if seconds <= 180 else 1),
                     "cwd": str(tmp)}, spl_env,
                )  # fmt: skip
                spl_s = statistics.median(spl["separate"])
                row += (
                    f" | {spl_s:>7.2f} {seconds / spl_s:>6.1f} {spl['peak_rss_mb']:>7.0f} "
                    f"{spl_s / sep_s:>6.2f}x"
                )
            print(row, flush=True)
    print("x rt = seconds of audio per second of compute; speedup = Spleeter s / stemline s;")
    print("GFLOP/s = the U-Net's arithmetic over the whole separate() time (STFT etc. included)")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # not benchmarks/separation.py
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
