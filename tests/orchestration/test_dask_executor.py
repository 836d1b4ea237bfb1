"""The pipeline on a real ``dask.distributed`` cluster: a scheduler and two worker processes on
127.0.0.1, Dagster's persistent instance, stems and Parquet on storage every worker sees.

Runs start as a run worker starts them (``dagster job execute`` on the module that
``workspace.yaml`` names, one process per run), so the Dask workers load the same definitions
from the same settings, given to every process through ``STEMLINE_*`` variables.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import dagster as dg
import dask
import duckdb
import pytest
from distributed import Client, LocalCluster

from catalogue.inventory import update_inventory
from demodata import write_demo_songs
from orchestration.dask_executor import dask_task_key
from orchestration.instance import ensure_dagster_home
from resources.settings import StemlineSettings

ROOT = Path(__file__).resolve().parents[2]
SONG_SECONDS = 3.0
RUN_TIMEOUT_S = 240
#: The track assets are one step per run (a batch of tracks, ``assets.track_assets``).
TRACK_STEPS = {"tracks"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start_run(job: str, tags: dict[str, str], log: Path) -> tuple[subprocess.Popen, Path]:
    """Start one run in its own process, as a run launcher does."""
    command = [
        str(Path(sys.executable).with_name("dagster")),
        "job", "execute", "-m", "orchestration.definitions", "-a", "defs", "-j", job,
        "--tags", json.dumps(tags),
    ]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
    return process, log


def _wait(runs: list[tuple[subprocess.Popen, Path]]) -> None:
    for process, log in runs:
        assert process.wait(timeout=RUN_TIMEOUT_S) == 0, log.read_text()[-5000:]


def _runs(instance: dg.DagsterInstance, job: str) -> list[dg.DagsterRun]:
    return list(instance.get_runs(filters=dg.RunsFilter(job_name=job)))


def _step_pids(instance: dg.DagsterInstance, run_id: str) -> dict[str, int]:
    """The process id that started each step of a run, from Dagster's own event log."""
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_START).records
    return {r.event_log_entry.step_key: r.event_log_entry.dagster_event.pid for r in records}


@pytest.fixture
def cluster_settings(tmp_path, monkeypatch) -> StemlineSettings:
    """Settings (through the environment, as every process on the cluster gets them) with
    storage, audio and the Dagster instance under one shared folder."""
    shared = tmp_path / "shared"  # stands for the file system every machine mounts
    audio = shared / "audio"
    write_demo_songs(audio, n_songs=2, duration_s=SONG_SECONDS)
    env = {
        "STEMLINE_CONFIG": str(tmp_path / "absent.toml"),
        "STEMLINE_STORAGE_ROOT": str(shared / "data"),
        "STEMLINE_AUDIO_ROOTS": str(audio),
        "STEMLINE_EXECUTOR": "dask",
        "STEMLINE_DASK_ADDRESS": f"tcp://127.0.0.1:{_free_port()}",
        "DAGSTER_HOME": str(shared / "dagster_home"),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    settings = StemlineSettings.load()
    ensure_dagster_home(settings)
    return settings


@pytest.mark.slow
def test_demo_songs_run_on_two_dask_workers(cluster_settings, tmp_path):
    settings = cluster_settings
    layout = settings.layout
    inventory = update_inventory(layout.inventory, [Path(r) for r in settings.audio_roots])
    tracks = sorted(inventory.present_tracks()["track_id"])
    assert len(tracks) == 2
    with (
        # stem_features starts a process pool; Dask's nanny makes workers daemonic processes,
        # which may not have children (deploy/README.md sets the same on real clusters).
        dask.config.set({"distributed.worker.daemon": False}),
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            scheduler_port=int(settings.dask_address.rsplit(":", 1)[1]),
            dashboard_address="127.0.0.1:0",
            memory_limit=0,
            local_directory=str(tmp_path / "dask"),
        ) as cluster,
        Client(cluster) as client,
        dg.DagsterInstance.get() as instance,  # creates the instance's schema once
    ):
        assert cluster.scheduler_address == settings.dask_address
        worker_pids = set(client.run(os.getpid).values())
        assert len(worker_pids) == 2
        instance.add_dynamic_partitions("tracks", tracks)

        # Both tracks at once, one run each, as the sensor requests them: each run must execute
        # its own steps (dagster_dask alone would hand the second run the first run's results).
        _wait(
            [
                _start_run("process_tracks", {"dagster/partition": t}, tmp_path / f"{t}.log")
                for t in tracks
            ]
        )
        _wait([_start_run("refresh_catalogue", {}, tmp_path / "catalogue.log")])

        track_runs = _runs(instance, "process_tracks")
        catalogue_runs = _runs(instance, "refresh_catalogue")
        assert sorted(r.tags["dagster/partition"] for r in track_runs) == tracks
        assert len(catalogue_runs) == 1
        used: set[int] = set()
        for run in [*track_runs, *catalogue_runs]:
            assert run.status == dg.DagsterRunStatus.SUCCESS, run.run_id
            pids = _step_pids(instance, run.run_id)
            assert set(pids.values()) <= worker_pids, pids  # every step ran on a Dask worker
            used |= set(pids.values())
        assert used == worker_pids  # and both workers took steps
        for run in track_runs:
            assert set(_step_pids(instance, run.run_id)) >= TRACK_STEPS
        assert set(_step_pids(instance, catalogue_runs[0].run_id)) >= {"catalogue"}

        def scheduler_keys(dask_scheduler) -> list[str]:
            return [str(entry[0]) for entry in dask_scheduler.transition_log]

        keys = set(client.run_on_scheduler(scheduler_keys))
        for run in track_runs:
            assert dask_task_key("process_tracks", run.run_id, "tracks") in keys

    for track_id in tracks:
        stems_dir = layout.stems_dir(settings.model_name, track_id)
        assert sorted(p.name for p in stems_dir.glob("*.flac")) == [
            "accompaniment.flac",
            "vocals.flac",
        ]
        assert list((layout.root / "features").glob(f"*/{track_id}/2stems/*.parquet"))
    con = duckdb.connect(str(layout.catalogue), read_only=True)
    try:
        rows = con.sql("SELECT track_id, status FROM tracks ORDER BY track_id").fetchall()
        n_stems = con.execute("SELECT count(*) FROM stems").fetchone()[0]
    finally:
        con.close()
    assert rows == [(t, "ok") for t in tracks]
    assert n_stems == 4
