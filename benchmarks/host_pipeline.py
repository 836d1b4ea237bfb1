"""The host side of file separation: decoding, resampling, encoding and metering, per core and
beside the model, in one run.

1. **Host only.** The model is replaced by a stand-in (:class:`SplitModel`) that hands each
   chunk back as fixed fractions of the mixture, so everything else that
   ``separate_to_file`` does to a 3-minute track runs for real: decoding FLAC, the channel rule,
   resampling to the model rate and back (a 48 kHz input), chunking and stitching, FLAC
   encoding of the stems, levels, and the residual meter's FFTs (the stems sum to the mixture,
   so the meter's answer is known: far below -50 dB). Each configuration runs in a fresh
   process pinned to 1 or 2 cores (``os.sched_setaffinity``), ``threads off`` (all of it in
   one thread, ``host_threads=False``) and ``threads on`` (in the reader, stem writer and meter
   threads beside the model's, the default) alternately in that process, each in turn first;
   ``2 tracks`` runs two tracks at once as ``separate_files`` does with ``batch_tracks=2``.
   Reported: x real time by wall clock (audio seconds / wall seconds, all tracks) and per CPU
   second (audio seconds / CPU seconds of the process: the host work's cost per core, whatever
   else the machine runs).
2. **File to file with the model.** ``Separator.separate_files`` over ``--tracks`` 3-minute
   FLAC files (one model load, warmed up), ``host_threads`` on and off alternately in the same
   process (in turn first), at each ``--batch-tracks``: x real time = audio seconds / wall
   seconds.
   ``--repo DIR`` also runs it from another source tree (``git archive`` of an earlier
   commit into DIR), for before and after in the same run.

Every figure is the median of ``--repeats`` runs.

Usage::

    .venv/bin/python benchmarks/host_pipeline.py [--repeats 3] [--rates 44100 48000]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TRACK_S = 180.0
#: Fractions of the mixture the stand-in model gives each stem (exact in binary).
FRACTIONS = (0.25, 0.75)
#: Host-only configurations: (cores, tracks at once); each is run with host threads off and on.
HOST_CONFIGS = [(1, 1), (2, 1), (2, 2)]


class SplitProcessor:
    """A chunk processor without a model: each chunk's output is the chunk's own samples,
    split into :data:`FRACTIONS` (the part the next chunk overlaps is left at zero, so the
    stitched stems sum to the mixture). Chunks of concurrent tracks still meet in a
    :class:`~separation.batching.ModelBatcher`, as they would for the model."""

    def __init__(self, plan, batch_tracks: int) -> None:
        from separation.batching import ModelBatcher

        self.plan = plan
        self.batcher = ModelBatcher(lambda items: items, batch_tracks)

    def __call__(self, chunk):
        import numpy as np

        self.batcher(None)
        kept = self.plan.chunk_frames * self.plan.frame_step
        out = np.zeros((len(FRACTIONS), self.plan.output_length, 2), np.float32)
        for i, fraction in enumerate(FRACTIONS):
            out[i, :kept] = chunk[:kept] * fraction
        return out


class SplitModel:
    """What ``separate_to_file`` needs of a :class:`~separation.model.SeparationModel`, with
    :class:`SplitProcessor` for the model (2stems geometry, one segment per chunk)."""

    def __init__(self, batch_tracks: int = 1) -> None:
        from separation.configs import load_config

        self.config = load_config("spleeter:2stems")
        self.chunk_segments = 1
        self.batch_tracks = batch_tracks
        self._processor = None

    def load(self) -> None:
        """Nothing to load."""

    def plan(self, n_samples: int):
        from separation.chunking import ChunkPlan

        cfg = self.config
        return ChunkPlan(n_samples, cfg.frame_length, cfg.frame_step, cfg.T, self.chunk_segments)

    def processor(self, segments: int) -> SplitProcessor:
        if self._processor is None:
            self._processor = SplitProcessor(self.plan(0), self.batch_tracks)
        return self._processor


HOST_CHILD = r"""
import json, os, resource, sys, time
job = json.loads(sys.argv[1])
os.sched_setaffinity(0, set(job["cpus"]))  # before any library starts a thread
sys.path.insert(0, job["repo"])
from benchmarks.host_pipeline import SplitModel
from separation.file_separation import separate_to_file
from separation.multitrack import run_concurrently

def run(out, threads):
    model = SplitModel(batch_tracks=job["tracks"])
    batcher = model.processor(1).batcher
    def one(i, membership):
        return separate_to_file(
            model, job["inputs"][i], f"{out}/{i}", mwf=False, multichannel="first-two",
            codec="flac", membership=membership, host_threads=threads,
            filename_format="{instrument}.{codec}",
        )
    return dict(run_concurrently(batcher, range(job["tracks"]), one, job["tracks"]))

run(job["out"] + "/warm", True)
got = {"on": {"wall": [], "cpu": []}, "off": {"wall": [], "cpu": []}}
residuals = []
for r in range(job["repeats"]):
    for threads in ((True, False) if r % 2 == 0 else (False, True)):  # no order bias
        c0 = resource.getrusage(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        results = run(job["out"] + f"/{r}-{threads}", threads)
        mode = got["on" if threads else "off"]
        mode["wall"].append(time.perf_counter() - t0)
        c1 = resource.getrusage(resource.RUSAGE_SELF)
        mode["cpu"].append(c1.ru_utime - c0.ru_utime + c1.ru_stime - c0.ru_stime)
        for result in results.values():
            if isinstance(result, Exception):
                raise result
            residuals.append(result.mixture_residual_db)
got["residual_db"] = max(residuals)
print(json.dumps(got))
"""

MODEL_CHILD = r"""
import json, sys, time
job = json.loads(sys.argv[1])
sys.path.insert(0, job["repo"])
from separation.tensorflow_env import configure_tensorflow
configure_tensorflow()
from separation import Separator
out = {}
for batch in job["batch_tracks"]:
    sep = Separator("spleeter:2stems", batch_tracks=batch).load()
    list(sep.separate_files([job["warm"]], job["out"] + "/warm", codec="flac"))  # compiles
    times = {True: [], False: []}
    for r in range(job["repeats"]):
        for threads in ((True, False) if r % 2 == 0 else (False, True)):  # no order bias
            sep.host_threads = threads
            t0 = time.perf_counter()
            for path, result in sep.separate_files(
                job["inputs"], job["out"] + f"/{batch}-{threads}-{r}", codec="flac"
            ):
                if isinstance(result, Exception):
                    raise result
            times[threads].append(time.perf_counter() - t0)
    out[str(batch)] = {"on": times[True], "off": times[False]}
print(json.dumps(out))
"""


def run_child(code: str, job: dict) -> dict:
    """Run one measurement in a fresh process and parse its last line (JSON)."""
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=str(REPO))
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(job)],
        capture_output=True, text=True, env=env, cwd=REPO, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def write_tracks(folder: Path, rate: int, count: int) -> list[str]:
    """``count`` seeded 3-minute stereo FLAC files at ``rate``."""
    import numpy as np
    import soundfile as sf
    import soxr

    sys.path.insert(0, str(REPO))
    from demodata.signals import RATE, synthetic_mix

    paths = []
    for i in range(count):
        path = folder / f"track{i}_{rate}.flac"
        mix = np.tile(synthetic_mix(60.0, seed=i), (3, 1))
        if rate != RATE:
            mix = soxr.resample(mix, RATE, rate)
        sf.write(path, mix, rate, subtype="PCM_16")
        paths.append(str(path))
    return paths


def host_only(tmp: Path, rates: list[int], repeats: int) -> list[dict]:
    """Part 1: every host-only configuration at every rate."""
    cpus = sorted(os.sched_getaffinity(0))
    rows = []
    for rate in rates:
        inputs = write_tracks(tmp, rate, 2)
        for cores, tracks in HOST_CONFIGS:
            if cores > len(cpus):
                continue
            job = {
                "repo": str(REPO), "cpus": cpus[:cores], "tracks": tracks,
                "inputs": inputs[:tracks], "repeats": repeats, "out": str(tmp / "host"),
            }  # fmt: skip
            got = run_child(HOST_CHILD, job)
            audio = TRACK_S * tracks
            for mode in ("off", "on"):
                label = f"{cores} core(s), {tracks} track(s), threads {mode}"
                row = {
                    "rate": rate, "config": label, "cores": cores,
                    "x_rt_wall": audio / statistics.median(got[mode]["wall"]),
                    "x_rt_per_cpu_s": audio / statistics.median(got[mode]["cpu"]),
                    "residual_db": got["residual_db"],
                }  # fmt: skip
                rows.append(row)
                print(
                    f"{rate:>6} {label:<32} {row['x_rt_wall']:>8.1f} "
                    f"{row['x_rt_per_cpu_s']:>10.1f} {row['residual_db']:>9.1f}",
                    flush=True,
                )
    return rows


def with_model(
    tmp: Path, tracks: int, batch_tracks: list[int], repeats: int, repo: Path = REPO
) -> dict:
    """Part 2: ``separate_files`` with the model, host threads on and off (the source tree
    ``repo``'s code)."""
    inputs = write_tracks(tmp, 44100, tracks)
    warm = tmp / "warm.flac"
    import soundfile as sf

    data, rate = sf.read(inputs[0], frames=441000)
    sf.write(warm, data, rate, subtype="PCM_16")
    job = {"repo": str(repo), "inputs": inputs, "warm": str(warm), "repeats": repeats,
           "batch_tracks": batch_tracks, "out": str(tmp / "model")}  # fmt: skip
    got = run_child(MODEL_CHILD, job)
    audio = TRACK_S * tracks
    for batch, times in got.items():
        on, off = statistics.median(times["on"]), statistics.median(times["off"])
        print(
            f"{repo.name}: batch_tracks {batch}: threads on {audio / on:.1f}x ({on:.1f} s), "
            f"off {audio / off:.1f}x ({off:.1f} s): {off / on:.3f} times faster with",
            flush=True,
        )
    return got


def main() -> int:
    """Measure and print both parts."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rates", type=int, nargs="+", default=[44100, 48000])
    parser.add_argument("--tracks", type=int, default=2, help="3-minute files, part 2")
    parser.add_argument("--batch-tracks", type=int, nargs="+", default=[1])
    parser.add_argument("--no-model", action="store_true", help="part 1 only")
    parser.add_argument("--no-host", action="store_true", help="part 2 only")
    parser.add_argument("--repo", type=Path, help="also part 2 from this source tree")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"machine: {os.cpu_count()} CPUs, load average {load:.1f} at the start; 3-min tracks")
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        if not args.no_host:
            print("part 1, host only (decode, resample, encode, meter; no model), medians:")
            print(f"{'rate':>6} {'configuration':<32} {'x rt wall':>8} {'x rt/CPU s':>10} "
                  f"{'resid dB':>9}")  # fmt: skip
            host_only(tmp, args.rates, args.repeats)
        if not args.no_model:
            print("part 2, file to file with the model (separate_files, 44.1 kHz FLAC), medians:")
            with_model(tmp, args.tracks, args.batch_tracks, args.repeats)
            if args.repo is not None:
                with_model(tmp, args.tracks, args.batch_tracks, args.repeats, args.repo.resolve())
    print(f"load average at the end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    code = main()
    print(f"({time.perf_counter() - started:.0f} s)")
    raise SystemExit(code)
