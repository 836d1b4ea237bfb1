"""The separation engine and feature pool, set up once and handed to many Dagster runs.

A run that sets these resources up itself starts the feature worker processes (each imports
the feature code) and waits for them when it ends, which costs more than a test's whole check
or failing step. Tests that execute many runs share one set-up, handed to each run the way
``stemline run`` hands its set-up to its runs (:func:`orchestration.pipeline.shared_resources`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from orchestration.definitions import TRACK_ASSET_NAMES, build_definitions
from orchestration.pipeline import shared_resources
from resources.settings import StemlineSettings


@contextmanager
def track_run_resources(
    settings: StemlineSettings | None = None,
) -> Iterator[dict[str, dg.ResourceDefinition]]:
    """The engine and feature pool of ``settings``' definitions (default settings if none),
    set up for the block, as ``build_definitions(..., resources=...)`` takes them."""
    defs = build_definitions(settings or StemlineSettings())
    with shared_resources(defs, {"every track": TRACK_ASSET_NAMES}) as resources:
        yield resources
