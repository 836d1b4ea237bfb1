"""Start-up: ``stemline separate`` vs ``spleeter separate`` on a 10 s file, whole commands.

Each repetition runs the command lines in fresh processes, in turn (the order rotates), on
the same stereo WAV (``--seconds``, default 10), writing WAV stems; the figure is the wall time
of the whole command (interpreter start, imports, model load, separation, writing).
``stemline separate`` runs with ``--no-engine`` (everything in its own process) and, with
``--warm-engine``, also through a warm engine (``stemline engine start`` on a private socket,
started once before the repetitions and not timed: the user's standing set-up). stemline
loads its weights from the converted-weights cache (``MODEL_PATH/.converted``); Spleeter from
its TF checkpoint (the same 2stems files, linked into a private ``MODEL_PATH``). Spleeter's CLI
decodes audio with ffmpeg, which must be on ``PATH``; its side environment comes from
``scripts/make_golden.py``.

Usage::

    .venv/bin/python benchmarks/startup.py [--seconds 10] [--repeats 5] [--warm-engine]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _separation_benchmark():
    """benchmarks/separation.py as a module (its name would shadow the package)."""
    spec = importlib.util.spec_from_file_location(
        "separation_bench", REPO / "benchmarks" / "separation.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_bench = _separation_benchmark()
SPLEETER_VENV, spleeter_env, synthetic_track = (
    _bench.SPLEETER_VENV,
    _bench.spleeter_env,
    _bench.synthetic_track,
)


def timed(cmd: list[str], env: dict, cwd: Path) -> float:
    """Wall seconds of one command; raises with its stderr if it fails."""
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd, check=False)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
    return elapsed


def main() -> int:
    """Measure and print both commands' wall times and their ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--warm-engine", action="store_true",
                        help="also time stemline separate through a warm engine")  # fmt: skip
    args = parser.parse_args()
    import soundfile as sf

    spleeter = SPLEETER_VENV / "bin" / "spleeter"
    if not spleeter.exists():
        print(f"no Spleeter side environment at {SPLEETER_VENV} (scripts/make_golden.py)")
        return 1
    if shutil.which("ffmpeg") is None:
        print("Spleeter's CLI needs ffmpeg on PATH (apt-get install ffmpeg)")
        return 1
    stemline = Path(sys.executable).parent / "stemline"
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wav = tmp / "song.wav"
        sf.write(wav, synthetic_track(args.seconds), 44100, subtype="PCM_16")
        spl_env = {**spleeter_env(tmp), "PATH": f"{Path(shutil.which('ffmpeg')).parent}:/bin"}
        ours_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
                    "STEMLINE_ENGINE_SOCKET": str(tmp / "engine.sock")}  # fmt: skip
        ours = [str(stemline), "separate", "--no-progress", "-o", str(tmp / "ours"), str(wav)]
        commands = {
            "stemline": ([*ours, "--no-engine"], ours_env),
            "spleeter": (
                [str(spleeter), "separate", "-p", "spleeter:2stems", "-o", str(tmp / "spl"),
                 str(wav)],
                spl_env,
            ),
        }  # fmt: skip
        if args.warm_engine:
            began = time.perf_counter()
            subprocess.run([str(stemline), "engine", "start"], env=ours_env, check=True,
                           capture_output=True)  # fmt: skip
            print(f"warm engine started in {time.perf_counter() - began:.1f} s (once, not timed)")
            commands["stemline (warm engine)"] = (ours, ours_env)
        times: dict[str, list[float]] = {name: [] for name in commands}
        try:
            # One untimed run each: page cache, compiled bytecode, the converted-weights cache.
            for cmd, env in commands.values():
                timed(cmd, env, tmp)
            names = list(commands)
            for rep in range(args.repeats):
                for name in names[rep % len(names) :] + names[: rep % len(names)]:
                    cmd, env = commands[name]
                    times[name].append(timed(cmd, env, tmp))
        finally:
            if args.warm_engine:
                subprocess.run([str(stemline), "engine", "stop"], env=ours_env,
                               capture_output=True)  # fmt: skip
    medians = {name: statistics.median(runs) for name, runs in times.items()}
    print(f"machine: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}; {args.seconds:.0f} s "
          f"stereo WAV, median of {args.repeats}")  # fmt: skip
    for name, median in medians.items():
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"{name} separate: {median:6.2f} s  (runs: {runs})")
    for name in (n for n in medians if n.startswith("stemline")):
        print(f"ratio spleeter / {name}: {medians['spleeter'] / medians[name]:.2f}x")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # not benchmarks/separation.py
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
