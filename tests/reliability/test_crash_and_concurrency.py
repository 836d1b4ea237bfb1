"""Crash safety (SIGKILL mid-separation, mid-catalogue write) and concurrent runs.

The pipeline runs in real subprocesses with a shared storage root and Dagster instance. Faults
are injected from outside the product code: a small driver patches one function so that the
process kills itself with SIGKILL at the chosen moment. The three crashing runs (each with its own
storage and instance) start together, once for the module, so their start-ups (Dagster and
TensorFlow imports) overlap; each test then reruns ``stemline run`` (its ``main``, in the test's
process, where TensorFlow is already imported) on what its crash left.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import soundfile as sf

from catalogue.query import run_query
from demodata import write_demo_songs
from orchestration.cli import main

REPO = Path(__file__).resolve().parents[2]

DRIVER = r"""
import os, signal, sys
from pathlib import Path
mode, audio, storage = sys.argv[1], sys.argv[2], sys.argv[3]
if mode == "separation":
    from separation import output
    real_write, calls = output.StemWriter.write, {"n": 0}
    def write(self, block):
        calls["n"] += 1
        written = real_write(self, block)
        if calls["n"] == 3:  # some stem data on disk, the stem not finished
            os.kill(os.getpid(), signal.SIGKILL)
        return written
    output.StemWriter.write = write
else:
    import atomicfile as atomic
    real_replace = atomic.os.replace
    def replace(src, dst):
        if str(dst).endswith(mode):  # the temporary file is complete, the rename not done
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst)
    atomic.os.replace = replace
from orchestration.cli import main
sys.exit(main(["run", audio, "--storage", storage, "--no-progress"]))
"""


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    root = tmp_path_factory.mktemp("songs")
    write_demo_songs(root, n_songs=4, duration_s=6.0)
    return root


def env_for(tmp_path: Path) -> dict:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}


def stemline(args: list[str], env: dict, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "orchestration.cli", *args],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw,
    )  # fmt: skip


def assert_consistent(storage: Path, n_tracks: int) -> None:
    """Every output complete and readable, no temporaries, one row per thing, no orphans."""
    leftovers = [p for p in storage.rglob("*") if p.name.endswith((".tmp", ".part"))]
    assert leftovers == []
    for flac in storage.rglob("*.flac"):
        data, _ = sf.read(flac)
        assert len(data) > 0
    tracks = run_query(storage, "SELECT status FROM tracks")
    assert tracks["status"].to_list() == ["ok"] * n_tracks
    stems = run_query(storage, "SELECT track_id, stem, path FROM stem_files")
    assert stems.height == 2 * n_tracks
    assert stems.select("track_id", "stem").is_unique().all()
    assert all(Path(p).is_file() for p in stems["path"])
    dirs = list((storage / "stems" / "2stems").iterdir())
    assert len(dirs) == n_tracks and all((d / "stems.parquet").is_file() for d in dirs)
    features = run_query(storage, "SELECT track_id, stem FROM stem_summaries")
    assert features.height == 2 * n_tracks and features.is_unique().all()


KILL_POINTS = ("separation", "stems.parquet", "catalogue.duckdb")


@dataclass(frozen=True)
class Crash:
    """One crashed run: its audio, storage and environment, and how the driver ended."""

    audio: Path
    storage: Path
    env: dict
    returncode: int
    output: str


@pytest.fixture(scope="module")
def crashes(songs, tmp_path_factory) -> dict[str, Crash]:
    """Every kill point's driver, run on two songs in a folder of its own, all at once."""
    started = {}
    for kill_at in KILL_POINTS:
        folder = tmp_path_factory.mktemp(f"crash-{kill_at.replace('.', '-')}")
        audio, storage = folder / "audio", folder / "data"
        shutil.copytree(songs, audio, ignore=shutil.ignore_patterns("demo_02", "demo_03"))
        env = env_for(folder)
        driver = subprocess.Popen(
            [sys.executable, "-c", DRIVER, kill_at, str(audio), str(storage)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        started[kill_at] = (audio, storage, env, driver)
    crashes = {}
    try:
        for kill_at, (audio, storage, env, driver) in started.items():
            output, _ = driver.communicate(timeout=900)
            crashes[kill_at] = Crash(audio, storage, env, driver.returncode, output)
    finally:
        for *_, driver in started.values():  # none left behind if one hangs
            if driver.poll() is None:
                driver.kill()
                driver.communicate()
    return crashes


@pytest.mark.parametrize("kill_at", KILL_POINTS)
def test_sigkill_leaves_no_damage_and_a_rerun_completes(kill_at, crashes, monkeypatch):
    crash = crashes[kill_at]
    assert crash.returncode == -signal.SIGKILL, crash.output[-4000:]
    # Whatever reached its final name is complete.
    for flac in crash.storage.rglob("*.flac"):
        sf.read(flac)
    # The rerun: `stemline run` on the same storage and instance.
    monkeypatch.setenv("DAGSTER_HOME", crash.env["DAGSTER_HOME"])
    args = ["run", str(crash.audio), "--storage", str(crash.storage), "--no-progress"]
    assert main(args) == 0
    assert_consistent(crash.storage, n_tracks=2)


def test_concurrent_runs_and_a_reader_leave_a_consistent_catalogue(songs, tmp_path):
    a, b, storage = tmp_path / "a", tmp_path / "b", tmp_path / "data"
    shutil.copytree(songs, a, ignore=shutil.ignore_patterns("demo_02", "demo_03"))
    shutil.copytree(songs, b, ignore=shutil.ignore_patterns("demo_00", "demo_01"))
    env = env_for(tmp_path)
    common = ["--storage", str(storage), "--no-progress"]
    runs = [
        stemline(["run", str(a), *common], env),
        stemline(["run", str(b), *common], env),
        stemline(["run", str(a), str(b), *common], env),
    ]
    queries = 0
    while any(r.poll() is None for r in runs):
        # A reader works while the pipeline writes.
        run_query(storage, "SELECT count(*) FROM stem_files")
        queries += 1
        time.sleep(0.5)
    outputs = [r.communicate()[0] for r in runs]
    for run, out in zip(runs, outputs, strict=True):
        assert run.returncode == 0, out[-3000:]
    assert queries > 0
    assert_consistent(storage, n_tracks=4)
