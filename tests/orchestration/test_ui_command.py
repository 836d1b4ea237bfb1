"""``stemline ui``: --storage and --audio-root reach the Dagster processes, bad folders are one
line, the start-up says what the folder sensor will do; and a real ``stemline ui`` whose
daemon's first sensor tick scans the given folder into the given storage."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import soundfile as sf

from orchestration.cli import main
from orchestration.commands.ui import SENSOR_INTERVAL_S, ui_command
from resources.settings import StemlineSettings

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def clean_env(tmp_path, monkeypatch):
    """Run in ``tmp_path`` with no stemline or Dagster settings from the environment."""
    for name in list(os.environ):
        if name.startswith("STEMLINE_") or name == "DAGSTER_HOME":
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    # A bug that let a bad folder through would replace the test process with ``dagster dev``.
    monkeypatch.setattr(os, "execve", lambda *a: pytest.fail(f"exec'd {a[1]}"))
    monkeypatch.setattr(os, "execv", lambda *a: pytest.fail(f"exec'd {a[1]}"))
    return tmp_path


def test_storage_and_audio_roots_become_absolute_stemline_variables(clean_env, monkeypatch):
    (clean_env / "store").mkdir()
    (clean_env / "a").mkdir()
    (clean_env / "b").mkdir()
    cmd = ui_command("127.0.0.1", 3123, Path("store"), [Path("a"), Path("b")])
    assert cmd.argv[1:4] == ["-m", "dagster", "dev"]
    assert cmd.argv[cmd.argv.index("-w") + 1] == str(REPO / "workspace.yaml")
    assert cmd.argv[cmd.argv.index("-p") + 1] == "3123"
    assert cmd.env["STEMLINE_STORAGE_ROOT"] == str(clean_env / "store")
    roots = [str(clean_env / "a"), str(clean_env / "b")]
    assert cmd.env["STEMLINE_AUDIO_ROOTS"] == os.pathsep.join(roots)
    # What the Dagster processes will read, from another working directory.
    for name in ("STEMLINE_STORAGE_ROOT", "STEMLINE_AUDIO_ROOTS"):
        monkeypatch.setenv(name, cmd.env[name])
    monkeypatch.chdir("/")
    seen = StemlineSettings.load()
    assert seen.layout.root == clean_env / "store"
    assert seen.audio_roots == roots


def test_without_options_the_configured_settings_are_kept(clean_env, monkeypatch):
    music = clean_env / "music"
    music.mkdir()
    monkeypatch.setenv("STEMLINE_AUDIO_ROOTS", str(music))
    cmd = ui_command("127.0.0.1", 3000, None, None)
    assert cmd.env["STEMLINE_AUDIO_ROOTS"] == str(music)
    assert cmd.env["STEMLINE_STORAGE_ROOT"] == str(clean_env / "data")


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (["--storage", "missing"], "--storage missing: no such folder"),
        (["--storage", "file.txt"], "--storage file.txt: not a folder"),
        (["--audio-root", "music", "--audio-root", "nope"], "--audio-root nope: no such folder"),
        (["--audio-root", "file.txt"], "--audio-root file.txt: not a folder"),
    ],
)
def test_bad_folders_are_one_line_and_exit_2(clean_env, capsys, args, problem):
    (clean_env / "music").mkdir()
    (clean_env / "file.txt").write_text("x")
    assert main(["ui", *args]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {problem}"


def test_start_up_says_the_sensor_is_on_and_what_it_scans(clean_env):
    (clean_env / "music").mkdir()
    lines = ui_command("127.0.0.1", 3000, None, [Path("music")]).startup_lines()
    sensor = next(line for line in lines if line.startswith("folder sensor"))
    assert "is on" in sensor and f"every {SENSOR_INTERVAL_S} s" in sensor
    assert str(clean_env / "music") in sensor
    assert "partition" in sensor and "run" in sensor
    none = ui_command("127.0.0.1", 3000, None, None).startup_lines()
    assert any("no audio roots" in line and "--audio-root" in line for line in none)


def test_the_start_up_line_matches_the_real_sensor():
    import dagster as dg

    from orchestration.definitions import defs

    sensor = defs.resolve_sensor_def("audio_folder_sensor")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    assert sensor.minimum_interval_seconds == SENSOR_INTERVAL_S


def track_partitions(home: Path) -> list[str]:
    """The ``tracks`` partition keys in the instance under ``home``."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        return instance.get_dynamic_partitions("tracks")


def test_real_ui_scans_the_given_folder_into_the_given_storage(tmp_path):
    """``stemline ui --storage S --audio-root A`` from another folder: the daemon's first sensor
    tick writes S's inventory with A's file and adds its partition. The instance queues runs
    without starting them (``max_concurrent_runs: 0``), so nothing is separated."""
    from tests.orchestration.test_webserver import free_port

    home, store, music = tmp_path / "home", tmp_path / "store", tmp_path / "music"
    for folder in (home, store, music):
        folder.mkdir()
    (home / "dagster.yaml").write_text(
        "run_queue:\n  max_concurrent_runs: 0\ntelemetry:\n  enabled: false\n"
    )
    sf.write(music / "song.wav", [0.0] * 800, 8000)
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEMLINE_")}
    env.update(DAGSTER_HOME=str(home), PYTHONPATH=str(REPO))
    log_path = tmp_path / "ui.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "orchestration.cli", "ui", "--storage", "store",
             "--audio-root", "music", "--port", str(free_port())],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        keys: list[str] = []
        try:
            deadline = time.monotonic() + 120
            while not keys and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(1)
                keys = track_partitions(home)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)  # dagster dev and the processes it started
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    output = log_path.read_text()
    assert keys, output[-3000:]
    files = pl.read_parquet(store / "inventory" / "files.parquet")
    assert files["path"].to_list() == [str(music / "song.wav")]
    # The partition key is readable: the file's slug before its track id.
    assert keys == [f"song-{tid}" for tid in files["track_id"].to_list()]
    assert "folder sensor audio_folder_sensor is on" in output
    assert str(music) in output
