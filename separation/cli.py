"""Command-line sub-commands of the separation engine: ``separate`` and ``models``.

``stemline separate`` mirrors ``spleeter separate``::

    stemline separate -p spleeter:2stems -o out song.wav other.flac

Wrong arguments are refused before the model loads, with one line and exit status 2: numbers
that are not finite or out of range, a filename format that cannot name files inside the output
folder, an output folder that is a file, and a batch in which two inputs would write the same
stem file. Every input is then processed even when another one fails; the exit status is 1 when
any input failed (with a per-file error summary) and 0 when all succeeded. Outputs of a failed
input are never left half-written. Tracebacks of unexpected errors are logged with
``--verbose`` only.
"""

from __future__ import annotations

import argparse
import logging
import math
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from .configs import EMBEDDED_NAMES, EMBEDDED_PREFIX
from .device import DEVICES
from .output import CODECS, DEFAULT_FILENAME_FORMAT

log = logging.getLogger(__name__)


def offset_seconds(text: str) -> float:
    """``-s``: a finite number of seconds, 0 or more."""
    value = _finite_seconds(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more seconds, not {text!r}")
    return value


def duration_seconds(text: str) -> float:
    """``-d``: a finite number of seconds, more than 0."""
    value = _finite_seconds(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0 seconds, not {text!r}")
    return value


def at_least_one(text: str) -> int:
    """``--batch-tracks``, ``--chunk-segments``: a whole number, 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {text!r}")
    return value


def output_folder(text: str) -> Path:
    """``-o``: a folder path; an empty one (an unset shell variable) would mean the cwd."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must name a folder, not an empty string")
    return Path(text)


def _finite_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, not {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``separate`` and ``models`` to the ``stemline`` argument parser."""
    sep = subparsers.add_parser(
        "separate",
        help="split audio files into stems (like `spleeter separate`)",
        description="Separate audio files into stems with a Spleeter model.",
    )
    sep.add_argument("files", nargs="+", type=Path, metavar="FILES", help="audio files")
    sep.add_argument(
        "-p", "--params", default="spleeter:2stems",
        help="model: spleeter:2stems (default), 4stems, 5stems, their -16kHz variants, "
        "or a JSON configuration file",
    )  # fmt: skip
    sep.add_argument(
        "-o", "--output", type=output_folder, default=Path("separated"),
        help="output directory (default ./separated)",
    )  # fmt: skip
    sep.add_argument(
        "-f", "--filename-format", default=DEFAULT_FILENAME_FORMAT,
        help="output naming with {filename}, {foldername}, {instrument}, {codec}: a relative "
        f"path inside the output folder (default {DEFAULT_FILENAME_FORMAT!r})",
    )  # fmt: skip
    sep.add_argument("-c", "--codec", choices=sorted(CODECS), default="wav")
    sep.add_argument("-b", "--bitrate", default="128k", help="for ogg and mp3 (default 128k)")
    sep.add_argument(
        "-s", "--offset", type=offset_seconds, default=0.0, help="start at (seconds, 0 or more)"
    )
    sep.add_argument(
        "-d", "--duration", type=duration_seconds, default=None,
        help="seconds to separate (default: the whole file; nothing is truncated)",
    )  # fmt: skip
    sep.add_argument("--mwf", action="store_true", help="multichannel Wiener filtering (slower)")
    sep.add_argument(
        "--overlap", action="store_true",
        help="cross-fade a half-segment-shifted grid to remove seams every 11.9 s "
        "(about 2x slower; off = Spleeter's output)",
    )  # fmt: skip
    sep.add_argument(
        "--multichannel", choices=("first-two", "downmix"), default="first-two",
        help="inputs with more than 2 channels: keep the first two (Spleeter) or downmix",
    )  # fmt: skip
    sep.add_argument(
        "--chunk-segments", type=at_least_one, default=None,
        help="11.9 s segments per processing chunk (memory vs overhead; same result; "
        "default 1 on a CPU, 16 on a GPU)",
    )  # fmt: skip
    sep.add_argument(
        "--device", choices=DEVICES, default="auto",
        help="where the model runs: auto (a GPU if TensorFlow sees one), cpu, or gpu "
        "(an error without one)",
    )  # fmt: skip
    sep.add_argument(
        "--batch-tracks", type=at_least_one, default=1, metavar="N",
        help="separate N files at once, batching their segments into shared model calls "
        "(keeps a GPU busy; same result per file)",
    )  # fmt: skip
    sep.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sep.set_defaults(func=run_separate)

    models = subparsers.add_parser(
        "models", help="fetch or list pretrained checkpoints",
        description="Manage pretrained Spleeter checkpoints under MODEL_PATH.",
    )  # fmt: skip
    msub = models.add_subparsers(dest="models_command", required=True)
    fetch = msub.add_parser("fetch", help="fetch and verify checkpoints")
    fetch.add_argument(
        "names", nargs="*", default=["2stems"],
        help="checkpoint names (2stems, 4stems, 5stems; default 2stems)",
    )  # fmt: skip
    fetch.set_defaults(func=run_fetch)
    listing = msub.add_parser("list", help="list configurations and local checkpoints")
    listing.set_defaults(func=run_list)


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch and verify checkpoints, printing where each one lives."""
    from .provider import IntegrityError, ModelProvider, ModelUnavailable

    provider = ModelProvider()
    status = 0
    for name in args.names:
        try:
            files = provider.get(name)
        except (ModelUnavailable, IntegrityError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{name}: {files.directory} (sha256 {files.checkpoint_sha256[:16]}, {files.source})")
    return status


def run_list(args: argparse.Namespace) -> int:
    """List the embedded configurations and which checkpoints are present locally."""
    from .configs import load_config
    from .provider import MARKER, default_model_path

    root = default_model_path()
    print(f"MODEL_PATH: {root}")
    for short in EMBEDDED_NAMES:
        cfg = load_config(EMBEDDED_PREFIX + short)
        present = (root / cfg.model_dir / MARKER).is_file()
        print(
            f"  {EMBEDDED_PREFIX + short:<24} {', '.join(cfg.instruments):<40} "
            f"<= {cfg.cutoff_hz / 1000:.1f} kHz  checkpoint {cfg.model_dir}: "
            + ("present" if present else "not fetched")
        )
    return 0


def run_separate(args: argparse.Namespace) -> int:
    """Separate every file; report failures per file and return 1 if any failed."""
    from tqdm import tqdm

    from .audio import AudioError, probe
    from .checkpoint import CheckpointError
    from .configs import ConfigError
    from .device import DeviceError
    from .output import (
        OutputError,
        check_destination,
        check_filename_format,
        parse_bitrate,
        plan_stem_paths,
    )
    from .provider import IntegrityError, ModelUnavailable
    from .separator import Separator

    try:
        check_filename_format(args.filename_format)
        parse_bitrate(args.bitrate)
        check_destination(args.output)
        separator = Separator(
            args.params, mwf=args.mwf, overlap=args.overlap,
            chunk_segments=args.chunk_segments, multichannel=args.multichannel,
            device=args.device, batch_tracks=args.batch_tracks,
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
