"""Shared fixtures: stemline settings in temporary folders, a test Dagster instance."""

from __future__ import annotations

import dagster as dg
import pytest

import separation  # noqa: F401  (sets TF_ENABLE_ONEDNN_OPTS before any test imports TensorFlow)
from assets.settings import StemlineSettings


@pytest.fixture
def make_settings(tmp_path):
    def make(audio, **overrides) -> StemlineSettings:
        values = {"storage_root": str(tmp_path / "data"), "audio_roots": [str(audio)]}
        return StemlineSettings(**(values | overrides))

    return make


@pytest.fixture
def instance():
    with dg.instance_for_test() as inst:
        yield inst
