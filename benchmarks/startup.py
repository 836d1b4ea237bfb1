"""Start-up: ``stemline separate`` vs ``spleeter separate`` on a 10 s file, whole commands.

Each repetition runs both command lines in fresh processes, alternating which goes first, on
the same 10 s stereo WAV, writing WAV stems; the figure is the wall time of the whole command
(interpreter start, imports, model load, separation, writing). stemline loads its weights from
the converted-weights cache (``MODEL_PATH/.converted``); Spleeter from its TF checkpoint (the
same 2stems files, linked into a private ``MODEL_PATH``). Spleeter's CLI decodes audio with
ffmpeg, which must be on ``PATH``; its side environment comes from ``scripts/make_golden.py``.

Usage::

    .venv/bin/python benchmarks/startup.py [--seconds 10] [--repeats 5]
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
    times: dict[str, list[float]] = {"stemline": [], "spleeter": []}
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        wav = tmp / "song.wav"
        sf.write(wav, synthetic_track(args.seconds), 44100, subtype="PCM_16")
        spl_env = {**spleeter_env(tmp), "PATH": f"{Path(shutil.which('ffmpeg')).parent}:/bin"}
        ours_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}
        commands = {
            "stemline": (
                [str(stemline), "separate", "--no-progress", "-o", str(tmp / "ours"), str(wav)],
                ours_env,
            ),
            "spleeter": (
                [str(spleeter), "separate", "-p", "spleeter:2stems", "-o", str(tmp / "spl"),
                 str(wav)],
                spl_env,
            ),
        }  # fmt: skip
        # One untimed run each: page cache, compiled bytecode, the converted-weights cache.
        for cmd, env in commands.values():
            timed(cmd, env, tmp)
        for rep in range(args.repeats):
            order = ["stemline", "spleeter"] if rep % 2 == 0 else ["spleeter", "stemline"]
            for name in order:
                cmd, env = commands[name]
                times[name].append(timed(cmd, env, tmp))
    ours, theirs = statistics.median(times["stemline"]), statistics.median(times["spleeter"])
    print(f"machine: {os.cpu_count()} CPUs; {args.seconds:.0f} s stereo WAV, median of "
          f"{args.repeats}")  # fmt: skip
    for name, median in (("stemline", ours), ("spleeter", theirs)):
        runs = ", ".join(f"{t:.2f}" for t in times[name])
        print(f"{name} separate: {median:6.2f} s  (runs: {runs})")
    verdict = "met" if ours < theirs else "NOT met"
    print(f"ratio spleeter / stemline: {theirs / ours:.2f}x  (target: stemline faster: {verdict})")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # not benchmarks/separation.py
    from separation.tensorflow_env import configure_tensorflow

    configure_tensorflow()  # as the `stemline` command: oneDNN kernels on, quiet start-up
    raise SystemExit(main())
