"""No input name or partition key can write outside the storage root; the query CLI refuses
writes with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from orchestration.definitions import build_definitions
from tests.run_resources import track_run_resources

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def run_resources():
    """The engine and feature pool, set up once for the module's job runs
    (``tests/run_resources.py``)."""
    with track_run_resources() as resources:
        yield resources


@pytest.mark.parametrize("key", ["../../escape", "/etc/passwd", "abc\ndef", "ab" * 40])
def test_hostile_partition_keys_fail_without_writing(
    key, make_settings, instance, tmp_path, run_resources
):
    settings = make_settings(tmp_path / "audio")
    instance.add_dynamic_partitions("tracks", [key])
    job = build_definitions(settings, resources=run_resources).resolve_job_def("process_tracks")
    result = job.execute_in_process(partition_key=key, instance=instance, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.event_specific_data.error.message
    assert "not in the inventory" in message or "16 hex digits" in message
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert all(str(p).startswith(str(tmp_path / "data")) for p in written)
    assert not (tmp_path / "escape").exists()


@pytest.mark.parametrize(
    "sql",
    ["DROP VIEW tracks", "DELETE FROM files", "INSERT INTO runs SELECT * FROM runs",
     "COPY tracks TO 'out.csv'", "ATTACH 'x.db'", "INSTALL httpfs", "LOAD httpfs",
     "EXPORT DATABASE 'dump'"],
)  # fmt: skip
def test_query_cli_refuses_writes_with_exit_2(sql, tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "query", "--storage", str(tmp_path), sql],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(Path.home())},
    )  # fmt: skip
    assert proc.returncode == 2
    assert "refused" in proc.stderr and "read-only" in proc.stderr
    assert not (tmp_path / "out.csv").exists() and not (tmp_path / "dump").exists()


def test_query_cli_formats(tmp_path):
    storage = tmp_path / "data"
    (storage / "inventory").mkdir(parents=True)  # a (still empty) stemline storage root
    base = [sys.executable, "-m", "orchestration.cli", "query", "--storage", str(storage)]
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO), "HOME": str(Path.home())}
    sql = "SELECT 1 AS one, 'x' AS letter"
    csv = subprocess.run([*base, sql, "--format", "csv"], capture_output=True, text=True, env=env)
    assert csv.stdout.splitlines() == ["one,letter", "1,x"]
    js = subprocess.run([*base, sql, "--format", "json"], capture_output=True, text=True, env=env)
    assert '"letter":"x"' in js.stdout
    out = tmp_path / "r.parquet"
    pq = subprocess.run([*base, sql, "--format", "parquet", "-o", str(out)], env=env)
    assert pq.returncode == 0 and out.stat().st_size > 0
