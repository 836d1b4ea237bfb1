"""The ``separate`` sub-command: separate audio files into stem files, reporting per file.

Wrong arguments are refused before the model loads, with one line and exit status 2: a
filename format that cannot name files inside the output folder, a bitrate unlike ``128k``, an
output folder that is a file, ``--device gpu`` without a GPU, and a batch in which two inputs
would write the same stem file (numbers are checked by :mod:`separation.cli`'s types). Every
input is then processed even when another one fails; the exit status is 1 when any input failed
(with a per-file error summary) and 0 when all succeeded. Outputs of a failed input are never
left half-written. Tracebacks of unexpected errors are logged with ``--verbose`` only.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

#: Named after the command line (``separation.cli``), as the log lines users see say.
log = logging.getLogger("separation.cli")


def run_separate(args: argparse.Namespace) -> int:
    """Separate every file; report failures per file and return 1 if any failed."""
    from tqdm import tqdm

    from .audio import AudioError, probe
    from .checkpoint import CheckpointError
    from .configs import ConfigError
    from .device import DeviceError
    from .output import OutputError, parse_bitrate
    from .provider import IntegrityError, ModelUnavailable
    from .separator import Separator
    from .stem_paths import check_destination, check_filename_format, plan_stem_paths

    try:
        check_filename_format(args.filename_format)
        parse_bitrate(args.bitrate)
        check_destination(args.output)
        separator = Separator(
            args.params, mwf=args.mwf, overlap=args.overlap,
            chunk_segments=args.chunk_segments, multichannel=args.multichannel,
            device=args.device, batch_tracks=args.batch_tracks, precision=args.precision,
        )  # fmt: skip
    except (ConfigError, OutputError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    durations: dict[Path, float] = {}
    failures: dict[Path, str] = {}
    for path in args.files:
        try:
            info = probe(path)
        except AudioError as exc:
            failures[path] = str(exc)
            continue
        if args.duration is not None and round(args.duration * info.sample_rate) < 1:
            failures[path] = (
                f"{path}: duration {args.duration:g} s is under one sample at {info.sample_rate} Hz"
            )
            continue
        durations[path] = info.duration_s
    try:
        # Two inputs writing one stem file would silently keep only the later one's stems.
        plan_stem_paths(
            [path for path in args.files if path in durations], args.output,
            separator.instruments, args.filename_format, args.codec,
        )  # fmt: skip
        separator.device  # noqa: B018 -- resolve now: `--device gpu` without one is an error
    except (DeviceError, OutputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    total = sum(durations.values())
    bar = tqdm(
        total=round(total, 1), unit="s", unit_scale=True, desc="separating",
        disable=args.no_progress or None, file=sys.stderr,
    )  # fmt: skip
    bar_lock = threading.Lock()

    def progress_for(path: Path) -> Callable[[int, int], None]:
        seconds = durations[path]
        if args.duration is not None:
            seconds = max(0.0, min(seconds - args.offset, args.duration))
        credited = 0.0

        def progress(done: int, n: int) -> None:
            nonlocal credited
            target = seconds * done / n
            with bar_lock:
                bar.update(round(target - credited, 3))
                bar.set_postfix_str(path.name[-30:])
            credited = target

        return progress

    written = 0
    started = time.perf_counter()
    todo = [path for path in args.files if path not in failures]
    if todo:
        try:
            separator.load()
        except (CheckpointError, IntegrityError, ModelUnavailable) as exc:
            bar.close()
            print(f"error: cannot load {args.params}: {exc}", file=sys.stderr)
            return 2
    try:
        results = separator.separate_files(
            todo, args.output, progress_for=progress_for,
            filename_format=args.filename_format, codec=args.codec, bitrate=args.bitrate,
            offset=args.offset, duration=args.duration,
        )  # fmt: skip
        for path, result in results:
            if isinstance(result, AudioError | OutputError):
                failures[path] = str(result)
                continue
            if isinstance(result, Exception):  # one broken input must not stop the batch
                log.info("separating %s failed", path, exc_info=result)  # trace with --verbose
                failures[path] = f"{path}: {type(result).__name__}: {result}"
                continue
            written += 1
            for inst, n in result.clipped_samples.items():
                log.warning("%s: %s stem clipped at full scale in %d samples", path, inst, n)
            tqdm.write(
                f"{path} -> {', '.join(str(p) for p in result.stems.values())}", file=sys.stderr
            )
    finally:
        bar.close()
    elapsed = time.perf_counter() - started
    print(
        f"separated {written} of {len(args.files)} files ({total:.1f} s of audio) "
        f"in {elapsed:.1f} s",
        file=sys.stderr,
    )
    if failures:
        print(f"{len(failures)} file(s) failed:", file=sys.stderr)
        for path in args.files:
            if path in failures:
                message = failures[path]
                print(f"  {path}: {message.removeprefix(str(path) + ': ')}", file=sys.stderr)
        return 1
    return 0
