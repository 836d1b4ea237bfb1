"""The separation on a GPU host, from the kit: equal to the CPU, then how fast, stage by stage.

Runs on a lent GPU host from the kit ``stemline kit build`` made (``.gpukit``: compact weights,
CPU golden stems, wheels; its printed ``run`` command installs the wheels and starts this
script), or anywhere else with the project installed. In one process, on the Keras backend of
``KERAS_BACKEND`` (JAX or PyTorch on the hosts, which have no TensorFlow) and the GPU when the
backend sees one (``--device gpu`` insists):

1. **golden**: separates the golden input with the kit's weights and compares each stem with
   the kit's CPU golden stems and with original Spleeter's (``tests/golden``). The floor against
   the CPU (``gpu_check_phases.GOLDEN_MIN_SNR_DB``) is 70 dB at exact precision: float32 on
   another device only reorders sums, which moves the stems by about 100 dB or less (JAX vs
   TensorFlow on one CPU: 114-119 dB; compact vs full weights: 100-111 dB), whereas TF32
   leaking into an ``exact`` run rounds every product to a 10-bit mantissa, around 50 dB
   (bf16's 7 bits measured 31-37 dB), and a wrong weight or layout lands near 0 dB: 70 dB is
   20 dB or more from each side. The faster precisions get floors under what they should
   reach. A failure is printed loudly, the rest still runs (one device call must yield every
   figure), and the exit status is 1.
2. **throughput**: ``--tracks`` synthetic tracks of ``--seconds`` (48 x 180 s by default, rates
   taken in turn from ``--rates``, written as ``--input-codec`` files by
   :mod:`synthetic_tracks`), at each of ``--batch-sizes``: in memory (``separate_many`` on the
   decoded tracks, resampled to the model rate beforehand: the engine alone) and file to file
   (``separate_files``, stems as ``--codec``), as x real time (seconds of audio per second of
   wall time) after a warm-up that compiles every shape.
3. **stages**: one batch of the largest size separated stage by stage: decoding, resampling,
   encoding and metering (the stems' residual, :mod:`separation.residual`) run on one thread,
   track after track, and the device stages (STFT, U-Net, masks with the inverse STFT) are
   charged by the separator's :class:`~separation.stage_clock.StageClock`, each waited for on
   the device. Each stage's busy seconds and x real time.

Every phase first checks the time left of ``--budget-s`` against its estimate (the assumed
rates of :data:`ASSUMED_XRT` until a run has measured them) and is skipped, and said so, rather
than overrun. Results go to ``--json`` after every phase, so a run cut short keeps what it
measured. Usage::

    KERAS_BACKEND=jax python3 benchmarks/gpu_check.py --kit .gpukit --device gpu --json out.json
    KERAS_BACKEND=jax JAX_PLATFORMS=cpu python benchmarks/gpu_check.py --kit .gpukit \\
        --device cpu --tracks 2 --seconds 4 --batch-sizes 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # before this folder, whose separation.py is a script

from gpu_check_phases import GOLDEN_MIN_SNR_DB, STAGES, xrt_or_assumed  # noqa: E402


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kit", type=Path, default=REPO / ".gpukit", help="the kit folder")
    parser.add_argument("--json", type=Path, default=None, help="write the results here")
    parser.add_argument("--device", choices=("auto", "cpu", "gpu"), default="auto")
    parser.add_argument("--precision", choices=tuple(GOLDEN_MIN_SNR_DB), default="exact")
    parser.add_argument("--tracks", type=int, default=48, help="synthetic tracks (default 48)")
    parser.add_argument("--seconds", type=float, default=180.0, help="seconds per track")
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[4, 16])
    parser.add_argument("--rates", type=int, nargs="+", default=[44100, 48000])
    parser.add_argument("--input-codec", choices=("flac", "wav"), default="flac")
    parser.add_argument("--codec", choices=("wav", "flac"), default="wav", help="stems' codec")
    parser.add_argument("--stage-tracks", type=int, default=None, help="default: largest batch")
    parser.add_argument("--chunk-segments", type=int, default=None)
    parser.add_argument("--budget-s", type=float, default=420.0, help="skip phases past this")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if min(args.batch_sizes) < 1 or args.tracks < 1 or args.seconds <= 0:
        parser.error("--tracks and --batch-sizes must be 1 or more, --seconds above 0")
    args.batch_sizes = sorted(set(args.batch_sizes))
    args.stage_tracks = min(args.stage_tracks or args.batch_sizes[-1], args.tracks)
    return args


class Results:
    """The results so far, written to the JSON file after every phase."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.started = time.perf_counter()
        self.data: dict = {"passed": None, "skipped": [], "runs": []}

    def elapsed(self) -> float:
        """Seconds since the start."""
        return time.perf_counter() - self.started

    def save(self) -> None:
        """Write the JSON file (atomically: a cut-short run leaves the last complete one)."""
        self.data["elapsed_s"] = round(self.elapsed(), 2)
        if self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(self.data, indent=2) + "\n")
            os.replace(tmp, self.path)

    def fits(self, name: str, estimate_s: float, budget_s: float) -> bool:
        """Whether phase ``name`` fits the budget; records it as skipped when not."""
        if self.elapsed() + estimate_s <= budget_s:
            return True
        print(f"SKIPPED {name}: ~{estimate_s:.0f} s more would pass the {budget_s:.0f} s budget")
        self.data["skipped"].append(name)
        return False


def main(argv: list[str] | None = None) -> int:
    """Run the phases; exit status 1 when the golden check or a track failed."""
    args = parse_args(argv)
    from separation.backends import configure_jax_cache

    configure_jax_cache()
    results = Results(args.json)
    from gpu_check_phases import golden_phase, separator, stage_phase, throughput_phase

    from separation.host_kit import read_kit
    from separation.stage_clock import StageClock

    kit = read_kit(args.kit)
    env = environment()
    results.data["environment"] = env
    print(f"backend {env['backend']} (keras {env['keras']}), {env['cpus']} CPUs, kit {kit.root}")
    single = separator(kit, args, 1, StageClock())
    golden = golden_phase(kit, args, single)
    results.data.update(device=golden.pop("device"), golden=golden)
    results.save()
    print_estimate(args, golden, results)
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="stemline-gpu-check-"))
    try:
        sep = throughput_phase(kit, args, results, workdir, single)
        if results.fits("stages", stage_estimate(args, results), args.budget_s):
            try:
                results.data["stages"] = stage_phase(sep, args, workdir)
            except Exception as exc:  # reported with everything measured before it
                results.data["stages_error"] = f"{type(exc).__name__}: {exc}"[:1000]
                print(f"ERROR in the stage pass: {results.data['stages_error']}")
    finally:
        if args.workdir is None:
            shutil.rmtree(workdir, ignore_errors=True)
    runs = results.data["runs"]
    failed_tracks = sum(run.get("file", {}).get("failed", 0) for run in runs)
    errors = any("error" in run for run in runs) or "stages_error" in results.data
    results.data["passed"] = golden["passed"] and failed_tracks == 0 and not errors
    results.save()
    print_summary(results.data)
    return 0 if results.data["passed"] else 1


def environment() -> dict:
    """Backend, versions and CPUs of this process."""
    import platform

    import keras
    import numpy as np

    env = {
        "backend": keras.backend.backend(), "keras": keras.__version__, "numpy": np.__version__,
        "python": platform.python_version(), "cpus": len(os.sched_getaffinity(0)),
        "tensorflow_imported": "tensorflow" in sys.modules,
    }  # fmt: skip
    for name in ("jax", "torch"):
        if name in sys.modules:
            env[name] = sys.modules[name].__version__
    return env


def audio_seconds(args: argparse.Namespace) -> float:
    """Seconds of audio in one pass over the tracks."""
    return args.tracks * args.seconds


def stage_estimate(args: argparse.Namespace, results: Results) -> float:
    """Seconds the stage pass should take: host stages at ~60x real time on one thread."""
    audio = args.stage_tracks * args.seconds
    return audio / 60.0 + audio / xrt_or_assumed(results, "memory", results.data["device"]["kind"])


def print_estimate(args: argparse.Namespace, golden: dict, results: Results) -> None:
    """The whole run's expected duration, from the assumed rates and the golden start-up."""
    kind = results.data["device"]["kind"]
    audio = audio_seconds(args)
    per_batch = golden["first_call_s"] + sum(
        audio / xrt_or_assumed(results, key, kind) for key in ("memory", "file")
    )
    total = results.elapsed() + len(args.batch_sizes) * per_batch + stage_estimate(args, results)
    print(
        f"estimate: ~{total:.0f} s in all for {args.tracks} x {args.seconds:g} s at batch sizes "
        f"{args.batch_sizes} (budget {args.budget_s:.0f} s; phases past it are skipped)"
    )
    results.data["estimate_s"] = round(total, 1)


def _cell(value: float | None, width: int, digits: int) -> str:
    """A number for the tables, or a dash where there is none."""
    return f"{value:{width}.{digits}f}" if value is not None else f"{'-':>{width}}"


def print_summary(data: dict) -> None:
    """The final tables."""
    dev, golden = data["device"], data["golden"]
    print(f"\ndevice: {dev['name']} ({dev['kind']}, {data['environment']['backend']})")
    verdict = "PASS" if golden["passed"] else "FAIL"
    for inst, snr in golden["snr_vs_cpu_db"].items():
        spleeter = golden["snr_vs_spleeter_db"].get(inst)
        print(f"golden {inst:<14} {snr:7.1f} dB vs CPU (min {golden['min_snr_db']:.0f})"
              + ("" if spleeter is None else f", {spleeter:7.1f} dB vs Spleeter"))  # fmt: skip
    print(f"golden check: {verdict}")
    print(
        f"\n{'batch':>5} {'in memory s':>12} {'x rt':>8} {'file s':>8} {'x rt':>8} {'resid dB':>9}"
    )
    for run in data["runs"]:
        mem, f = run.get("memory", {}), run.get("file", {})
        print(
            f"{run['batch']:>5} {_cell(mem.get('seconds'), 12, 2)} {_cell(mem.get('xrt'), 8, 1)} "
            f"{_cell(f.get('seconds'), 8, 2)} {_cell(f.get('xrt'), 8, 1)} "
            f"{_cell(f.get('max_residual_db'), 9, 1)}"
            + (f"  {run['error']}" if "error" in run else "")
        )
    if "stages" in data:
        stages = data["stages"]
        print(f"\nstages, {stages['tracks']} tracks, {stages['audio_s']:.0f} s of audio "
              "(host stages on one thread; device stages waited for):")  # fmt: skip
        print(f"{'stage':>10} {'busy s':>9} {'x rt':>10}")
        for name in STAGES:
            row = stages["stages"][name]
            print(f"{name:>10} {row['seconds']:9.3f} {_cell(row['xrt'], 10, 1)}")
    print(f"\n{data['elapsed_s']:.0f} s in all; skipped: {', '.join(data['skipped']) or 'none'}")
    print("PASSED" if data["passed"] else "FAILED")


if __name__ == "__main__":
    sys.exit(main())
