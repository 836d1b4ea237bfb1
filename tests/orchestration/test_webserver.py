"""A real dagster-webserver on 127.0.0.1: the asset graph over GraphQL, and a partition run
launched the way the UI launches one."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import polars as pl
import pytest

from catalogue.layout import StorageLayout, write_parquet
from catalogue.scan import scan
from demodata import write_demo_songs

REPO = Path(__file__).resolve().parents[2]
DAGSTER_YAML = """\
run_coordinator:
  module: dagster._core.run_coordinator
  class: DefaultRunCoordinator
telemetry:
  enabled: false
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def graphql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(
        f"{url}/graphql", body, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=60) as resp:
        data = json.loads(resp.read())
    assert "errors" not in data, data["errors"]
    return data["data"]


@pytest.fixture
def webserver(tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    audio, storage = tmp_path / "audio", tmp_path / "data"
    write_demo_songs(audio, n_songs=1, duration_s=3.0)
    # What the folder sensor would write on its first tick.
    write_parquet(scan([audio]).inventory, StorageLayout(storage).inventory)
    port = free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "STEMLINE_STORAGE_ROOT": str(storage),
        "STEMLINE_AUDIO_ROOTS": str(audio),
        "PYTHONPATH": str(REPO),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "dagster_webserver", "-w", str(REPO / "workspace.yaml"),
         "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/server_info", timeout=2):
                break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        pytest.fail("dagster-webserver did not start within 120 s")
    yield url, storage
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()


def test_ui_api_shows_the_graph_and_runs_a_partition(webserver):
    url, storage = webserver
    repos = graphql(url, "{ repositoriesOrError { ... on RepositoryConnection { nodes { name "
                         "location { name } } } } }")["repositoriesOrError"]["nodes"]  # fmt: skip
    assert len(repos) == 1
    repo, location = repos[0]["name"], repos[0]["location"]["name"]
    nodes = graphql(url, "{ assetNodes { assetKey { path } } }")["assetNodes"]
    keys = {"/".join(n["assetKey"]["path"]) for n in nodes}
    assert {"track_audio", "stems", "stem_features", "catalogue", "dataset_report"} <= keys

    inventory = pl.read_parquet(StorageLayout(storage).inventory)
    track_id = inventory.filter(pl.col("role") == "track")["track_id"][0]
    selector = {"repositoryLocationName": location, "repositoryName": repo}
    added = graphql(
        url,
        "mutation($s: RepositorySelector!, $k: String!) { addDynamicPartition("
        'repositorySelector: $s, partitionsDefName: "tracks", partitionKey: $k) '
        "{ __typename } }",
        {"s": selector, "k": track_id},
    )
    assert added["addDynamicPartition"]["__typename"] == "AddDynamicPartitionSuccess"
    launched = graphql(
        url,
        "mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename "
        "... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }",
        {"p": {
            "selector": {**selector, "jobName": "process_tracks"},
            "runConfigData": {},
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": track_id}]},
        }},
    )["launchRun"]  # fmt: skip
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]
    deadline = time.monotonic() + 300
    status = None
    while time.monotonic() < deadline:
        query = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
        status = graphql(url, query, {"id": run_id})["runOrError"]["status"]
        if status in ("SUCCESS", "FAILURE", "CANCELED"):
            break
        time.sleep(0.5)
    assert status == "SUCCESS"
    stems = sorted(p.name for p in (storage / "stems" / "2stems" / track_id).iterdir())
    assert stems == ["accompaniment.flac", "stems.parquet", "vocals.flac"]
