"""``stemline run`` against damaged storage, bad inputs and unusable arguments.

- Every output a processed track should have is checked (existence, Parquet footer): a missing
  or unreadable one is named and the track is processed again from the asset that wrote it, so
  a damaged feature table never crashes the run nor stays "unchanged".
- Expected failures (bad audio) are one line each on the console; the full traces are in the
  run's event log, or on the console with ``--verbose``; a run only touches tracks under the
  folders it was given.
- A storage root that is a file or read-only, or a damaged inventory, is one line and exit 2 or
  1, never a traceback; the same for ``stemline demo``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import polars as pl
import pytest

from catalogue.integrity import TRACK_ASSETS, check_track_outputs
from catalogue.inventory_schema import empty_inventory
from catalogue.layout import FEATURE_KINDS, StorageLayout
from catalogue.query import run_query
from catalogue.schema import TRACK_SCHEMA
from demodata import write_demo_songs
from orchestration.cli import main
from orchestration.pipeline import run_folder
from resources.settings import StemlineSettings
from tests.corpus import write_corpus

REPO = Path(__file__).resolve().parents[2]
SONG_SECONDS = 3.0


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    root = tmp_path_factory.mktemp("songs")
    write_demo_songs(root, n_songs=2, duration_s=SONG_SECONDS)
    return root


def env_for(tmp_path: Path) -> dict:
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    return {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}


def stemline(args: list[str], env: dict, prefix: list[str] | None = None):
    return subprocess.run(
        [*(prefix or []), sys.executable, "-m", "orchestration.cli", *args],
        env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def bad_corpus(folder: Path) -> list[str]:
    """Only the invalid entries of ``tests/corpus.py`` in ``folder`` (no separation needed)."""
    everything = folder.parent / f"{folder.name}-all"
    expect = write_corpus(everything)
    folder.mkdir()
    bad = sorted(name for name, (status, _) in expect.items() if status == "error")
    for name in bad:
        os.rename(everything / name, folder / name)  # links stay links, folders stay folders
    shutil.rmtree(everything)
    return bad


# -- Every expected output is checked ------------------------------------------------


@pytest.fixture(scope="module")
def processed(tmp_path_factory, songs):
    """One track processed to the end; tests damage one file each and put it back."""
    audio = tmp_path_factory.mktemp("audio")
    shutil.copytree(songs / "demo_00", audio / "demo_00")
    settings = StemlineSettings(
        storage_root=str(tmp_path_factory.mktemp("data")), audio_roots=[str(audio)]
    )
    with dg.instance_for_test() as instance:
        summary = run_folder(settings, instance=instance)
    assert len(summary.processed) == 1 and not summary.failed, summary
    return settings, summary.processed[0]


EXPORTS = "exports/transcription/2stems/{t}"
PARQUET_OUTPUTS = [
    ("tracks/{t}.parquet", "track_audio"),
    ("stems/2stems/{t}/stems.parquet", "stems"),
    *[(f"features/{k}/{{t}}/2stems/accompaniment.parquet", "stem_features") for k in FEATURE_KINDS],
    ("evaluation/{t}/2stems.parquet", "separation_eval"),
    (f"{EXPORTS}/manifest.parquet", "transcription_prep"),
    (f"{EXPORTS}/vocals_notes.parquet", "transcription_prep"),
    *[(f"runs/{asset}/{{t}}.parquet", asset) for asset in TRACK_ASSETS],
]  # fmt: skip
OTHER_OUTPUTS = [
    ("stems/2stems/{t}/vocals.flac", "stems"),
    (f"{EXPORTS}/vocals.mid", "transcription_prep"),
    (f"{EXPORTS}/vocals.jams", "transcription_prep"),
    (f"{EXPORTS}/vocals_16000hz_mono.flac", "transcription_prep"),
]
DAMAGES = {
    "deleted": (lambda p, data: p.unlink(), "missing"),
    "empty": (lambda p, data: p.write_bytes(b""), "unreadable (empty, 0 bytes)"),
    "truncated": (
        lambda p, data: p.write_bytes(data[: len(data) // 2]),
        "unreadable (truncated or not Parquet: no footer)",
    ),
}


def test_a_complete_track_is_complete_and_an_unknown_one_is_new(processed):
    settings, track_id = processed
    outputs = check_track_outputs(settings.layout, settings.model_name, track_id)
    assert outputs.state == "complete" and outputs.problems == ()
    never = check_track_outputs(settings.layout, settings.model_name, "0" * 16)
    assert never.state == "new" and never.problems == ()


def test_a_failed_track_is_failed_unless_its_record_is_damaged(tmp_path):
    layout, track_id = StorageLayout(tmp_path), "ab" * 8
    record = layout.track(track_id)
    record.parent.mkdir(parents=True)
    row = {"track_id": track_id, "path": "/music/bad.wav", "status": "error", "error": "empty"}
    pl.DataFrame([row], schema=TRACK_SCHEMA).write_parquet(record)
    failed = check_track_outputs(layout, "2stems", track_id)
    assert failed.state == "failed" and failed.problems == ()
    pl.DataFrame(schema=TRACK_SCHEMA).write_parquet(record)  # no rows: a damaged record
    damaged = check_track_outputs(layout, "2stems", track_id)
    assert [(p.path, p.problem) for p in damaged.problems] == [(record, "unreadable (no rows)")]
    assert damaged.problems[0].asset == "track_audio"


@pytest.mark.parametrize("damage", sorted(DAMAGES))
@pytest.mark.parametrize(("relative", "asset"), PARQUET_OUTPUTS)
def test_every_parquet_output_is_checked(processed, relative, asset, damage):
    settings, track_id = processed
    path = settings.layout.root / relative.format(t=track_id)
    data = path.read_bytes()
    spoil, problem = DAMAGES[damage]
    try:
        spoil(path, data)
        outputs = check_track_outputs(settings.layout, settings.model_name, track_id)
    finally:
        path.write_bytes(data)
    assert outputs.state == "damaged"
    assert [(p.path, p.problem) for p in outputs.problems] == [(path, problem)]
    assert str(outputs.problems[0]) == f"{path} is {problem}"
    # The asset that wrote the file: it and the ones downstream of it run again
    # (tests/orchestration/test_staleness.py checks what is downstream).
    assert outputs.problems[0].asset == asset


@pytest.mark.parametrize(("relative", "asset"), OTHER_OUTPUTS)
def test_every_other_output_is_checked(processed, relative, asset):
    settings, track_id = processed
    path = settings.layout.root / relative.format(t=track_id)
    data = path.read_bytes()
    try:
        path.unlink()
        outputs = check_track_outputs(settings.layout, settings.model_name, track_id)
    finally:
        path.write_bytes(data)
    assert [(p.path, p.problem, p.asset) for p in outputs.problems] == [(path, "missing", asset)]


# -- The run names the file and regenerates it -----------------------------------------


def test_run_names_and_regenerates_damaged_outputs(songs, make_settings, instance, tmp_path):
    audio = tmp_path / "audio"
    shutil.copytree(songs / "demo_00", audio / "demo_00")
    settings = make_settings(audio)
    layout, model = settings.layout, settings.model_name
    (track_id,) = run_folder(settings, instance=instance).processed
    mixture = audio / "demo_00" / "mixture.wav"
    summary_file = layout.features("summary", track_id, model, "vocals")
    stems_table = layout.stems_table(model, track_id)
    separated = stems_table.read_bytes()

    # A truncated feature summary (it crashed the catalogue step with a 183-line traceback).
    summary_file.write_bytes(summary_file.read_bytes()[:100])
    lines: list[str] = []
    again = run_folder(settings, instance=instance, notice=lines.append)
    assert lines == [
        f"reprocessing {mixture}: {summary_file} is unreadable "
        "(truncated or not Parquet: no footer)"
    ]
    assert again.processed == [track_id] and again.reprocessed == {track_id: lines[0]}
    assert not again.failed and again.catalogue_error is None
    assert stems_table.read_bytes() == separated  # from stem_features on: no new separation
    assert run_query(layout.root, "SELECT count(*) AS n FROM stem_summaries")["n"][0] == 2

    # Deleted: it was reported "unchanged" and never regenerated.
    summary_file.unlink()
    lines.clear()
    again = run_folder(settings, instance=instance, notice=lines.append)
    assert lines == [f"reprocessing {mixture}: {summary_file} is missing"]
    assert again.processed == [track_id] and summary_file.is_file()

    # A truncated stems table (it crashed the run with a message naming no file).
    stems_table.write_bytes(separated[:64])
    lines.clear()
    again = run_folder(settings, instance=instance, notice=lines.append)
    assert lines == [
        f"reprocessing {mixture}: {stems_table} is unreadable (truncated or not Parquet: no footer)"
    ]
    assert again.processed == [track_id] and not again.failed
    assert again.catalogue_error is None
    stems = run_query(layout.root, "SELECT stem FROM stems ORDER BY stem")["stem"].to_list()
    assert stems == ["accompaniment", "vocals"]

    # Nothing damaged any more: nothing to do, nothing said.
    lines.clear()
    again = run_folder(settings, instance=instance, notice=lines.append)
    assert again.skipped == [track_id] and again.processed == [] and lines == []


def test_a_damaged_file_of_another_folder_is_one_catalogue_line(
    songs, make_settings, instance, tmp_path
):
    a, b = tmp_path / "a", tmp_path / "b"
    shutil.copytree(songs / "demo_00", a / "demo_00")
    shutil.copytree(songs / "demo_01", b / "demo_01")
    both = make_settings(a, audio_roots=[str(a), str(b)])
    assert len(run_folder(both, instance=instance).processed) == 2
    layout, model = both.layout, both.model_name
    files = run_query(layout.root, "SELECT path, track_id FROM files WHERE role = 'track'")
    ids = {Path(p).parent.parent.name: t for p, t in files.iter_rows()}
    damaged = layout.features("summary", ids["b"], model, "vocals")
    damaged.write_bytes(damaged.read_bytes()[:100])

    # A run on folder a does not look at b's track; the catalogue step names the file.
    only_a = run_folder(make_settings(a), instance=instance)
    assert only_a.skipped == [ids["a"]] and not only_a.processed and not only_a.reprocessed
    assert only_a.catalogue_error is not None and str(damaged) in only_a.catalogue_error
    assert "\n" not in only_a.catalogue_error

    # A run on b repairs it.
    again = run_folder(make_settings(b), instance=instance)
    assert again.processed == [ids["b"]] and again.catalogue_error is None


def test_cli_reprocesses_a_truncated_stems_table_with_one_line(songs, tmp_path, monkeypatch):
    audio, storage = tmp_path / "audio", tmp_path / "data"
    shutil.copytree(songs / "demo_01", audio / "demo_01")
    env = env_for(tmp_path)
    args = ["run", str(audio), "--storage", str(storage), "--no-progress"]
    # The first run (the CLI's main in this process, where TensorFlow is already imported)
    # only makes the outputs; the rerun on the damaged one is the console's, as users see it.
    monkeypatch.setenv("DAGSTER_HOME", env["DAGSTER_HOME"])
    assert main(args) == 0
    (table,) = storage.glob("stems/2stems/*/stems.parquet")
    table.write_bytes(table.read_bytes()[:64])
    again = stemline(args, env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "Traceback" not in again.stderr
    assert f"{table} is unreadable" in again.stderr
    assert again.stdout.startswith("processed 1, unchanged 0, failed 0")


# -- One line per bad file; only the given folders ------------------------------------


def test_bad_files_are_one_line_each_and_other_folders_are_left_alone(tmp_path):
    bad, empty, storage = tmp_path / "bad", tmp_path / "empty", tmp_path / "data"
    names = bad_corpus(bad)
    empty.mkdir()
    env = env_for(tmp_path)
    run = stemline(["run", str(bad), "--storage", str(storage), "--no-progress"], env)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr and "Stack Trace" not in run.stderr
    # At most a couple of lines per bad file (TensorFlow's start-up lines included).
    assert len(run.stderr.splitlines()) <= 2 * len(names), run.stderr
    failed = [line for line in run.stdout.splitlines() if line.startswith("  failed ")]
    assert len(failed) == len(names), run.stdout
    for name in names:
        assert sum(name in line for line in failed) == 1, (name, failed)

    # The run's event log (what `stemline ui` shows) names every failed track in its batch
    # step's failure, which has its trace.
    with dg.DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        failures = _step_failures(instance)
    failed_keys = {
        key
        for f in failures
        for key in f.step_failure_data.user_failure_data.metadata["failed"].value
    }
    assert len(failed_keys) == len(names)
    assert all(f.step_failure_data.error.stack for f in failures)

    # An empty folder on the same storage retries nobody else's tracks.
    quiet = stemline(["run", str(empty), "--storage", str(storage), "--no-progress"], env)
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr[-3000:]
    assert quiet.stdout.splitlines()[0].startswith("processed 0, unchanged 0, failed 0")
    assert "failed " not in quiet.stdout.split(";")[1] and "Traceback" not in quiet.stderr

    # --verbose shows the full traces on the console.
    loud = stemline(["--verbose", "run", str(bad), "--storage", str(storage), "--no-progress"], env)
    assert loud.returncode == 1 and "Stack Trace" in loud.stderr


def _step_failures(instance: dg.DagsterInstance) -> list:
    failures = []
    for run in instance.get_runs():
        for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE):
            failures.append(entry.dagster_event)
    return failures


# -- Unusable storage, damaged inventory -----------------------------------------------


def _one_error_line(capsys) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    return err[0]


@pytest.fixture
def cli_env(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    audio = tmp_path / "audio"
    audio.mkdir()
    return audio


def test_storage_that_is_a_file_is_a_usage_error(cli_env, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main(["run", str(cli_env), "--storage", str(blocker), "--no-progress"]) == 2
    assert "is not a folder" in _one_error_line(capsys)
    below = blocker / "data"
    assert main(["run", str(cli_env), "--storage", str(below), "--no-progress"]) == 2
    assert f"({blocker} is not a folder)" in _one_error_line(capsys)
    assert main(["demo", "--out", str(blocker), "--songs", "1"]) == 2
    assert "--out" in _one_error_line(capsys)


def _read_only_prefix(folder: Path) -> list[str] | None:
    """A command prefix that runs the command with ``folder`` a read-only mount, if possible."""
    unshare = shutil.which("unshare")
    if unshare is None:
        return None
    script = 'mount -t tmpfs -o ro none "$0" && exec "$@"'
    probe = subprocess.run(
        [unshare, "-rm", "sh", "-c", script, str(folder), "true"], capture_output=True
    )
    return [unshare, "-rm", "sh", "-c", script, str(folder)] if probe.returncode == 0 else None


def test_read_only_storage_is_one_line(cli_env, tmp_path, capsys):
    storage = tmp_path / "read-only"
    storage.mkdir()
    if os.geteuid() != 0:  # permissions stop an ordinary user
        storage.chmod(0o555)
        try:
            code = main(["run", str(cli_env), "--storage", str(storage), "--no-progress"])
        finally:
            storage.chmod(0o755)
        assert code == 2
        assert "is not writable" in _one_error_line(capsys)
        return
    prefix = _read_only_prefix(storage)  # root ignores permissions: a read-only mount then
    if prefix is None:
        pytest.skip("no way to make a read-only folder here (root without unshare)")
    env = env_for(tmp_path)
    run = stemline(["run", str(cli_env), "--storage", str(storage), "--no-progress"], env, prefix)
    assert run.returncode == 2, run.stderr[-3000:]
    lines = [line for line in run.stderr.splitlines() if line.startswith("error")]
    assert lines == [
        f"error: storage {storage} is not writable (Read-only file system); give a writable folder"
    ]
    assert "Traceback" not in run.stderr


@pytest.mark.parametrize("damage", ["empty", "truncated"])
def test_damaged_inventory_is_one_line_saying_what_to_do(cli_env, tmp_path, capsys, damage):
    storage = tmp_path / "data"
    inventory = storage / "inventory" / "files.parquet"
    inventory.parent.mkdir(parents=True)
    if damage == "empty":
        inventory.write_bytes(b"")
    else:
        empty_inventory().write_parquet(inventory)
        inventory.write_bytes(inventory.read_bytes()[:-10])
    assert main(["run", str(cli_env), "--storage", str(storage), "--no-progress"]) == 1
    line = _one_error_line(capsys)
    assert f"the inventory {inventory} is unreadable" in line and "delete it" in line
    # stemline demo, whose storage is <out>/data, says the same.
    assert main(["demo", "--out", str(tmp_path), "--songs", "1"]) == 1
    err = capsys.readouterr().err
    assert f"error: the inventory {inventory} is unreadable" in err and "Traceback" not in err
