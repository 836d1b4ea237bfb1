"""Command-line arguments of the separation engine's ``separate`` sub-command.

``stemline separate`` mirrors ``spleeter separate``::

    stemline separate -p spleeter:2stems -o out song.wav other.flac

This module is its arguments: :func:`register` adds the sub-command to the ``stemline``
parser, and its argument types refuse numbers that are not finite or out of range with one
line and exit status 2, before any model loads. What the command does is in
:mod:`separation.separate_command` (which hands the job to a warm engine when a matching one
runs); ``stemline engine``, which starts one with the same model options
(:func:`add_model_options`), is :mod:`separation.engine_command`; ``stemline models``
(Spleeter checkpoints through :mod:`separation.models_command`, and the feature models) is
:mod:`orchestration.commands.models`.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from .device import DEVICES
from .output import CODECS
from .precision import DEFAULT_PRECISION, PRECISIONS
from .separate_command import run_separate
from .stem_paths import DEFAULT_FILENAME_FORMAT


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


def add_model_options(parser: argparse.ArgumentParser) -> None:
    """The model's options (model, MWF, overlap, channels, chunking, device, precision, batch),
    shared by ``separate`` and ``engine start``."""
    parser.add_argument(
        "-p", "--params", default="spleeter:2stems",
        help="model: spleeter:2stems (default), 4stems, 5stems, their -16kHz variants, "
        "or a JSON configuration file",
    )  # fmt: skip
    parser.add_argument("--mwf", action="store_true", help="multichannel Wiener filtering (slower)")
    parser.add_argument(
        "--overlap", action="store_true",
        help="cross-fade a half-segment-shifted grid to remove seams every 11.9 s "
        "(about 2x slower; off = Spleeter's output)",
    )  # fmt: skip
    parser.add_argument(
        "--multichannel", choices=("first-two", "downmix"), default="first-two",
        help="inputs with more than 2 channels: keep the first two (Spleeter) or downmix",
    )  # fmt: skip
    parser.add_argument(
        "--chunk-segments", type=at_least_one, default=None,
        help="11.9 s segments per processing chunk (memory vs overhead; same result; "
        "default 1 on a CPU, 16 on a GPU)",
    )  # fmt: skip
    parser.add_argument(
        "--device", choices=DEVICES, default="auto",
        help="where the model runs: auto (a GPU if the Keras backend sees one), cpu, or gpu "
        "(an error without one)",
    )  # fmt: skip
    parser.add_argument(
        "--precision", choices=PRECISIONS, default=DEFAULT_PRECISION,
        help="exact (float32, no TF32; the default), tf32 (TF32 matrix products on GPUs that "
        "have them) or bf16 (the U-Net in bfloat16)",
    )  # fmt: skip
    parser.add_argument(
        "--batch-tracks", type=at_least_one, default=1, metavar="N",
        help="separate N files at once, batching their segments into shared model calls "
        "(keeps a GPU busy; same result per file)",
    )  # fmt: skip


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``separate`` to the ``stemline`` argument parser."""
    sep = subparsers.add_parser(
        "separate",
        help="split audio files into stems (like `spleeter separate`)",
        description="Separate audio files into stems with a Spleeter model.",
    )
    sep.add_argument("files", nargs="+", type=Path, metavar="FILES", help="audio files")
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
    add_model_options(sep)
    sep.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    sep.add_argument(
        "--no-engine", action="store_true",
        help="separate in this process even when a warm engine (stemline engine start) with "
        "these model options is running",
    )  # fmt: skip
    sep.set_defaults(func=run_separate)
