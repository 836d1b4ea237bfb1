"""The separation on each Keras backend: start-up, throughput and memory, one process each.

For every backend that is installed (TensorFlow, JAX, PyTorch) a fresh process with
``KERAS_BACKEND`` set separates seeded synthetic stereo with ``spleeter:2stems`` and reports

* ``start`` — seconds from the first import to the end of the first chunk: importing keras
  and the backend, reading the weights, building the U-Net, compiling the signal path and
  separating one short (10 s) input;
* ``sep`` — median seconds of ``Separator.separate`` on ``--seconds`` of audio (default 180)
  over ``--repeats`` runs, and the x-realtime that gives;
* the process's peak RSS.

With ``--fidelity`` each child also separates the golden excerpt of ``tests/golden`` for every
case there (``spleeter:2stems``, ``-16kHz``, MWF), and the SNR against original Spleeter 2.4.2
and the largest difference from the first backend's stems are printed per case.

JAX compiles through a persistent compilation cache (``--jax-cache``, default a temporary
folder shared by the runs of this invocation, so ``--repeats-process 2`` shows a warm start).
``--repo`` runs the children against another source tree, e.g. an export of an earlier commit
for a before/after comparison on TensorFlow (older trees take no ``precision``/``weights``).

Usage::

    .venv/bin/python benchmarks/backends.py [--backends tensorflow jax] [--seconds 180]
        [--repeats 3] [--precision exact] [--weights 2stems.npz] [--device cpu]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

CHILD = r"""
import json, os, resource, statistics, sys, time
t0 = time.perf_counter()
job = json.loads(sys.argv[1])
sys.path.insert(0, job["repo"])
if job["backend"] == "jax":
    import jax
    jax.config.update("jax_compilation_cache_dir", job["jax_cache"])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
from separation.tensorflow_env import configure_tensorflow
configure_tensorflow()
import numpy as np
from separation import Separator
from demodata.signals import synthetic_mix
kw = {k: job[k] for k in ("precision", "weights") if job.get(k)}
sep = Separator("spleeter:2stems", device=job["device"], **kw).load()
loaded = time.perf_counter() - t0
sep.separate(synthetic_mix(10.0, seed=1), 44100)
start = time.perf_counter() - t0
block = synthetic_mix(min(job["seconds"], 60.0), seed=0)
reps = -(-int(job["seconds"]) // 60)
wave = np.tile(block, (reps, 1))[: int(job["seconds"] * 44100)]
times = []
for _ in range(job["repeats"]):
    t = time.perf_counter(); sep.separate(wave, 44100); times.append(time.perf_counter() - t)
peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if job["fidelity"]:
    import soundfile as sf
    golden = os.path.join(job["repo"], "tests", "golden")
    manifest = json.load(open(os.path.join(golden, "manifest.json")))
    mix, rate = sf.read(os.path.join(golden, manifest["input"]), dtype="float32", always_2d=True)
    stems = {}
    for case, entry in manifest["cases"].items():
        case_sep = Separator(entry["params"], mwf=entry["mwf"], device=job["device"], **kw)
        out = case_sep.separate(mix[: int(entry["seconds"] * rate)], rate)
        stems.update({f"{case}/{inst}": wave for inst, wave in out.items()})
    np.savez(job["fidelity"], **stems)
import keras
print(json.dumps({
    "backend": keras.backend.backend(), "load": loaded, "start": start,
    "sep": statistics.median(times), "tensorflow_imported": "tensorflow" in sys.modules,
    "peak_rss_mb": peak_rss_mb,
}))
"""


def run_backend(backend: str, job: dict) -> dict:
    """One measurement in a fresh process with ``KERAS_BACKEND=backend``."""
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    if job["device"] == "cpu":
        env.setdefault("JAX_PLATFORMS", "cpu")
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(dict(job, backend=backend))],
        capture_output=True, text=True, env=env, check=False,
    )  # fmt: skip
    if proc.returncode != 0:
        raise RuntimeError(f"{backend}: {proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> int:
    """Measure every requested backend and print one row each."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", default=["tensorflow", "jax", "torch"])
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--repeats-process", type=int, default=1, help="fresh processes each")
    parser.add_argument("--precision", default=None)
    parser.add_argument("--weights", default=None, help="converted weights file to load")
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "gpu"])
    parser.add_argument("--repo", default=str(REPO), help="source tree the children import")
    parser.add_argument("--jax-cache", default=None, help="JAX compilation cache folder")
    parser.add_argument("--fidelity", action="store_true", help="golden SNR per backend")
    args = parser.parse_args()
    cache = args.jax_cache or tempfile.mkdtemp(prefix="stemline-jax-cache-")
    job = {
        "repo": str(Path(args.repo).resolve()), "seconds": args.seconds,
        "repeats": args.repeats, "device": args.device, "precision": args.precision,
        "weights": args.weights and str(Path(args.weights).resolve()), "jax_cache": cache,
    }  # fmt: skip
    stems: dict[str, Path] = {}
    print(f"machine: {os.cpu_count()} CPUs; {args.seconds:.0f} s of audio; repo {job['repo']}")
    print(f"{'backend':>10} {'load s':>7} {'start s':>8} {'sep s':>7} {'x rt':>6} {'RSS MB':>7}")
    for backend in args.backends:
        if importlib.util.find_spec(backend) is None:
            print(f"{backend:>10} not installed")
            continue
        for _ in range(args.repeats_process):
            if args.fidelity:
                stems[backend] = Path(cache) / f"{backend}-golden.npz"
            r = run_backend(backend, dict(job, fidelity=args.fidelity and str(stems.get(backend))))
            print(
                f"{r['backend']:>10} {r['load']:7.1f} {r['start']:8.1f} {r['sep']:7.2f} "
                f"{args.seconds / r['sep']:6.1f} {r['peak_rss_mb']:7.0f}"
                + ("" if backend == "tensorflow" or not r["tensorflow_imported"] else "  (TF!)")
            )
    print("start = import + weights + build + compile + first 10 s input; x rt = audio s / sep s")
    if stems:
        print_fidelity(stems)
    return 0


def print_fidelity(stems: dict[str, Path]) -> None:
    """SNR of each backend's golden-case stems against Spleeter's, and the largest difference
    from the first backend's."""
    import numpy as np
    import soundfile as sf

    golden = REPO / "tests" / "golden"
    manifest = json.loads((golden / "manifest.json").read_text())
    loaded = {backend: dict(np.load(path)) for backend, path in stems.items()}
    first = next(iter(loaded))
    other = f"max |diff| vs {first}"
    print(f"\n{'backend':>10} {'case/stem':>28} {'SNR vs Spleeter dB':>19} {other:>24}")
    for backend, found in loaded.items():
        for case, entry in manifest["cases"].items():
            for inst, name in entry["stems"].items():
                ref, _ = sf.read(golden / name, dtype="float32", always_2d=True)
                got = found[f"{case}/{inst}"]
                snr = 10 * np.log10(np.sum(ref**2) / np.sum((ref - got) ** 2))
                diff = np.abs(got - loaded[first][f"{case}/{inst}"]).max()
                print(f"{backend:>10} {case + '/' + inst:>28} {snr:19.1f} {diff:24.2e}")


if __name__ == "__main__":
    sys.exit(main())
