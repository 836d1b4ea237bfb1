"""The ``dagster.yaml`` stemline writes: pools of one slot, the run queue looked at every
second; a file an earlier stemline wrote is brought up to date, an edited one is kept."""

from __future__ import annotations

import dagster as dg
import pytest

from orchestration.instance import DAGSTER_YAML, EARLIER_DAGSTER_YAMLS, ensure_dagster_home
from resources.settings import StemlineSettings


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", "")  # unset for the test; restored after it
    settings = StemlineSettings(storage_root=str(tmp_path / "data"))
    return settings, tmp_path / "data" / ".dagster"


def test_a_new_instance_dequeues_every_second_with_one_slot_pools(home):
    settings, folder = home
    assert ensure_dagster_home(settings) == folder
    assert (folder / "dagster.yaml").read_text() == DAGSTER_YAML
    with dg.DagsterInstance.from_config(str(folder)) as instance:
        assert instance.run_coordinator.dequeue_interval_seconds == 1
        assert instance.event_log_storage.get_pool_config().default_pool_limit == 1


def test_an_earlier_stemline_file_is_updated_and_an_edited_one_kept(home):
    settings, folder = home
    folder.mkdir(parents=True)
    config = folder / "dagster.yaml"
    config.write_text(EARLIER_DAGSTER_YAMLS[0])
    ensure_dagster_home(settings)
    assert config.read_text() == DAGSTER_YAML
    edited = EARLIER_DAGSTER_YAMLS[0].replace("default_limit: 1", "default_limit: 2")
    config.write_text(edited)
    ensure_dagster_home(settings)
    assert config.read_text() == edited
