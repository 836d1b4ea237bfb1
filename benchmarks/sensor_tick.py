"""Folder sensor tick time over a large unchanged folder (issue #5: under 10 s for 10,000 files).

Writes ``--files`` tiny distinct WAV files (8 kHz mono, 16 samples, 100 per sub-folder) into a
temporary audio root, then evaluates the real ``audio_folder_sensor`` from
``orchestration.definitions`` with ``dg.build_sensor_context`` against a real (SQLite, on-disk)
Dagster instance, applying each tick's dynamic-partition requests to the instance as the
daemon does. The first ticks take the files in (``hashes_per_tick`` is raised to ``--files``;
they repeat until nothing is pending) and are timed as the intake. Then ``--ticks`` ticks over
the unchanged folder are timed; each must request nothing. Prints every tick, the median, and
the verdict against the 10 s target; ``--profile`` also prints a cProfile of one unchanged
tick.

Usage::

    .venv/bin/python benchmarks/sensor_tick.py [--files 10000] [--ticks 5] [--profile]
"""

import argparse
import cProfile
import json
import os
import pstats
import shutil
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGET_S = 10.0
FILES_PER_FOLDER = 100
RATE = 8000
SAMPLES = 16


def tiny_wav(index: int) -> bytes:
    """A valid 16-bit mono WAV whose samples encode ``index`` (so every file is distinct)."""
    samples = [(index >> (4 * (k % 8))) & 0xF for k in range(SAMPLES)]
    data = struct.pack(f"<{SAMPLES}h", *samples)
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF", 36 + len(data), b"WAVE", b"fmt ", 16, 1, 1, RATE, RATE * 2, 2, 16,
        b"data", len(data),
    )  # fmt: skip
    return header + data


def write_files(root: Path, n: int) -> None:
    """``n`` tiny WAV files under ``root``, ``FILES_PER_FOLDER`` per sub-folder."""
    for i in range(n):
        folder = root / f"d{i // FILES_PER_FOLDER:04d}"
        if i % FILES_PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"track_{i:06d}.wav").write_bytes(tiny_wav(i))


def main(argv: list[str] | None = None) -> int:
    """Take the files in, then time ticks over the unchanged folder."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--ticks", type=int, default=5, help="timed ticks over unchanged files")
    parser.add_argument("--profile", action="store_true", help="cProfile one unchanged tick")
    args = parser.parse_args(argv)

    import dagster as dg

    from orchestration.definitions import build_definitions
    from resources.settings import StemlineSettings

    work = Path(tempfile.mkdtemp(prefix="stemline-sensor-"))
    try:
        audio = work / "audio"
        began = time.perf_counter()
        write_files(audio, args.files)
        print(f"cpu_count={os.cpu_count()}; wrote {args.files} WAV files in "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
        settings = StemlineSettings(
            storage_root=str(work / "data"),
            audio_roots=[str(audio)],
            hashes_per_tick=max(args.files, 1),
        )
        sensor = build_definitions(settings).resolve_sensor_def("audio_folder_sensor")
        (work / "dagster").mkdir()
        with dg.DagsterInstance.from_config(str(work / "dagster")) as instance:
            cursor = None

            def tick() -> tuple[float, dg.SensorResult]:
                nonlocal cursor
                context = dg.build_sensor_context(
                    instance=instance, cursor=cursor, resources={"settings": settings}
                )
                started = time.perf_counter()
                result = sensor(context)
                seconds = time.perf_counter() - started
                for request in result.dynamic_partitions_requests or []:
                    instance.add_dynamic_partitions(
                        request.partitions_def_name, list(request.partition_keys)
                    )
                cursor = result.cursor
                return seconds, result

            requested = 0
            while True:
                seconds, result = tick()
                requested += len(result.run_requests or [])
                state = json.loads(cursor)
                print(f"intake tick: {seconds:6.2f} s, {len(result.run_requests or [])} runs "
                      f"requested, {state['pending']} files still pending")  # fmt: skip
                if state["pending"] == 0:
                    break
            partitions = len(instance.get_dynamic_partitions("tracks"))
            print(f"taken in: {requested} run requests, {partitions} track partitions")

            times = []
            for _ in range(args.ticks):
                seconds, result = tick()
                if result.run_requests:
                    raise SystemExit("an unchanged folder requested runs")
                times.append(seconds)
                print(f"unchanged tick: {seconds:6.2f} s")
            median = statistics.median(times)
            verdict = "under" if median < TARGET_S else "NOT under"
            print(f"\nmedian tick over {args.files} unchanged files: {median:.2f} s "
                  f"({verdict} the {TARGET_S:g} s target)")  # fmt: skip
            if args.profile:
                profiler = cProfile.Profile()
                profiler.runcall(tick)
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
