"""Warm start: ``stemline separate`` in a fresh process vs handed to a warm engine.

For a short and a long file (10 s and 180 s of seeded stereo audio by default), each
repetition runs ``stemline separate FILE`` twice, alternating which goes first: with
``--no-engine`` (a fresh process: interpreter, imports, model build, first-call compilation,
separation) and with a warm engine started once beforehand (``stemline engine start`` on a
private socket, same model options). Two figures per run, both from the moment the command is
launched:

- **first segment**: until the progress bar first shows separated audio (the first 11.9 s
  segment is done; the bar is read from a pseudo-terminal, as a user sees it);
- **whole command**: until the command exits.

Medians of the repetitions are printed as a markdown table with the load average before and
after (the machine may be shared), plus the engine's own start-up wall time.

Usage::

    .venv/bin/python benchmarks/warm_start.py [--seconds 10 180] [--repeats 3] [--out FILE]
"""

from __future__ import annotations

import argparse
import fcntl
import os
import pty
import re
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
from pathlib import Path

import soundfile as sf

from demodata.signals import synthetic_mix

STEMLINE = [sys.executable, "-m", "orchestration.cli"]
#: The bar's ``done/total`` counter (``unit_scale``: ``11.9/180``, ``1.2k/3.6k``).
COUNTER = re.compile(rb"(\d+(?:\.\d+)?)[kMG]?/\d")


def run_timed(
    args: list[str], env: dict[str, str], cwd: Path, *, warm: bool
) -> tuple[float | None, float]:
    """``(seconds to the first separated audio on the bar, seconds to exit)`` of a command;
    an error when it fails, or did not (``warm``) or did use the engine."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))  # tqdm's width
    started = time.perf_counter()
    proc = subprocess.Popen(
        [*STEMLINE, *args], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL, stderr=slave,
    )  # fmt: skip
    os.close(slave)
    first: list[float] = []
    output = bytearray()

    def read() -> None:
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the command closed the terminal
                return
            if not chunk:
                return
            output.extend(chunk)
            if not first and any(float(n) > 0 for n in COUNTER.findall(chunk)):
                first.append(time.perf_counter() - started)

    reader = threading.Thread(target=read)
    reader.start()
    code = proc.wait()
    wall = time.perf_counter() - started
    reader.join(timeout=5)
    os.close(master)
    text = output.decode(errors="replace")
    if code != 0 or (b"using the warm engine" in output) != warm:
        raise RuntimeError(
            f"stemline {' '.join(args)}: exit status {code}, not as expected:\n{text}"
        )
    return (first[0] if first else None), wall


def median(values: list[float | None]) -> str:
    """The median in seconds, or ``n/a`` when a run showed no bar."""
    known = [v for v in values if v is not None]
    return f"{statistics.median(known):.2f}" if len(known) == len(values) else "n/a"


def main() -> int:
    """Start an engine, time both ways per file, print (and write) the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, nargs="+", default=[10.0, 180.0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None, help="also write the table here")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="stemline-warm-") as tmp:
        root = Path(tmp)
        env = os.environ | {"STEMLINE_ENGINE_SOCKET": str(root / "engine.sock")}
        files = {}
        for i, seconds in enumerate(args.seconds):
            files[seconds] = root / f"track{seconds:g}s.wav"
            sf.write(files[seconds], synthetic_mix(seconds, seed=100 + i), 44100)
        started = time.perf_counter()
        subprocess.run([*STEMLINE, "engine", "start"], env=env, cwd=root, check=True)
        engine_start = time.perf_counter() - started
        rows = []
        try:
            for seconds, path in files.items():
                times: dict[str, list[tuple[float | None, float]]] = {"fresh": [], "warm": []}
                for repeat in range(args.repeats):
                    order = ["fresh", "warm"] if repeat % 2 == 0 else ["warm", "fresh"]
                    for way in order:
                        flags = ["--no-engine"] if way == "fresh" else []
                        out = root / f"out-{way}-{repeat}"
                        command = ["separate", str(path), "-o", str(out), *flags]
                        times[way].append(run_timed(command, env, root, warm=way == "warm"))
                for way in ("fresh", "warm"):
                    firsts = [t[0] for t in times[way]]
                    walls = [t[1] for t in times[way]]
                    rows.append((seconds, way, median(firsts), median(walls)))
        finally:
            subprocess.run([*STEMLINE, "engine", "stop"], env=env, cwd=root, check=False)
    load_after = os.getloadavg()
    lines = [
        "| file | way | to first segment (s) | whole command (s) |",
        "|---|---|---|---|",
        *(f"| {s:g} s | {way} | {first} | {wall} |" for s, way, first, wall in rows),
        "",
        f"Medians of {args.repeats}; engine start-up (load + compile, once): "
        f"{engine_start:.1f} s; load average before {load_before[0]:.2f}, "
        f"after {load_after[0]:.2f} ({os.cpu_count()} CPUs).",
    ]
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
