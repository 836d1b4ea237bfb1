"""Spleeter's part of ``stemline models``: fetch its pretrained checkpoints, or list them.

:func:`run_fetch` fetches and verifies the named checkpoints into ``MODEL_PATH``, printing where
each one lives, exit status 1 when one could not be had; :func:`run_list` lists the embedded
configurations and whether their checkpoint is present locally. The sub-command itself (which
also fetches the feature models) is :mod:`orchestration.commands.models`; where weights come
from and how they are verified is :mod:`separation.provider`'s part.
"""

from __future__ import annotations

import argparse
import sys

from .configs import EMBEDDED_NAMES, EMBEDDED_PREFIX


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
