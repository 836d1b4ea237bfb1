"""Fixtures for the separation tests."""

from __future__ import annotations

import pytest

from separation import Separator


@pytest.fixture(scope="session")
def separator_2stems() -> Separator:
    """The real 2stems model (Spleeter's checkpoint), loaded once for the session."""
    return Separator("spleeter:2stems").load()
