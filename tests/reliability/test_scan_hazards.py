"""What a real folder can hold, through real runs (issue 14): a FIFO and a link to a device
named like audio, a name that is not UTF-8, the storage inside the audio folder, a file
overwritten between two runs and a file swapped during a run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf

from catalogue.examples import EXAMPLES
from catalogue.inventory import update_inventory
from catalogue.query import run_query
from orchestration.definitions import build_definitions
from orchestration.pipeline import run_folder
from tests.run_resources import track_run_resources

REPO = Path(__file__).resolve().parents[2]
#: A guard against a hang (a FIFO blocks forever), far above the run's real duration.
RUN_GUARD_S = 900


@pytest.fixture(scope="module")
def run_resources():
    """The engine and feature pool, set up once for the module's job runs
    (``tests/run_resources.py``)."""
    with track_run_resources() as resources:
        yield resources


def tone(path: Path | bytes, freq: float, seconds: float = 1.0, rate: int = 8000) -> None:
    """A mono tone; ``path`` may be raw bytes (a name that is not UTF-8)."""
    t = np.arange(int(seconds * rate)) / rate
    with sf.SoundFile(os.fsencode(path), "w", rate, 1, "FLOAT", format="WAV") as fh:
        fh.write((0.3 * np.sin(2 * np.pi * freq * t)).astype(np.float32))


def test_a_fifo_a_device_link_and_a_name_that_is_not_utf8_in_a_real_run(tmp_path):
    audio = tmp_path / "in"
    audio.mkdir()
    tone(audio / "normal.wav", 220)
    tone(os.fsencode(audio) + b"/Caf\xe9.wav", 330)  # as old NAS copies name it
    os.mkfifo(audio / "pipe.wav")
    (audio / "zero.wav").symlink_to("/dev/zero")
    storage = tmp_path / "data"
    home = tmp_path / "dagster_home"
    home.mkdir()
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONPATH": str(REPO)}
    run = subprocess.run(
        [sys.executable, "-m", "orchestration.cli", "run", str(audio), "--storage", str(storage),
         "--no-progress"],
        env=env, capture_output=True, timeout=RUN_GUARD_S,
    )  # fmt: skip
    out = run.stdout.decode() + run.stderr.decode()
    assert run.returncode == 1, out  # two failed inputs, the rest processed
    assert "Traceback" not in out

    tracks = run_query(storage, "SELECT path, status, error FROM tracks ORDER BY path")
    by_name = {Path(p).name: (s, e) for p, s, e in tracks.iter_rows()}
    assert by_name == {
        "Caf\\xe9.wav": ("ok", None),  # shown escaped, processed like any other
        "normal.wav": ("ok", None),
        "pipe.wav": ("error", f"{audio}/pipe.wav: is a FIFO (named pipe), not an audio file"),
        "zero.wav": ("error", f"{audio}/zero.wav: is a character device, not an audio file"),
    }
    stems = run_query(
        storage,
        "SELECT t.path, count(*) AS n FROM stems s JOIN tracks t USING (track_id) GROUP BY 1",
    )
    assert sorted((Path(p).name, n) for p, n in stems.iter_rows()) == [
        ("Caf\\xe9.wav", 2),
        ("normal.wav", 2),
    ]
    raw = run_query(storage, "SELECT path_bytes FROM files WHERE path LIKE '%Caf%'")
    assert raw["path_bytes"].to_list() == [os.fsencode(audio) + b"/Caf\xe9.wav"]
    assert f"{audio}/pipe.wav: is a FIFO (named pipe), not an audio file" in out  # one line


def test_storage_inside_the_audio_folder_is_never_taken_for_audio(
    make_settings, instance, tmp_path, monkeypatch
):
    music = tmp_path / "music"
    music.mkdir()
    tone(music / "song.wav", 220)
    monkeypatch.chdir(music)  # `cd music; stemline run .` with the default storage ./data
    settings = make_settings(Path("."), storage_root="data")
    first = run_folder(settings, instance=instance)
    assert len(first.processed) == 1 and not first.failed
    assert list((music / "data" / "stems").rglob("*.flac"))  # its own outputs, audio files
    second = run_folder(settings, instance=instance)
    assert second.processed == [] and second.failed == {} and len(second.skipped) == 1
    files = run_query(music / "data", "SELECT path FROM files")["path"].to_list()
    assert files == [str(music / "song.wav")]


def test_a_file_overwritten_between_runs_keeps_its_old_track_as_removed(
    make_settings, instance, tmp_path
):
    audio = tmp_path / "audio"
    audio.mkdir()
    tone(audio / "song.wav", 220)
    settings = make_settings(audio)
    run_folder(settings, instance=instance)
    tone(audio / "song.wav", 330, seconds=1.5)  # overwritten in place
    second = run_folder(settings, instance=instance)
    assert len(second.processed) == 1 and not second.failed
    root = settings.layout.root
    tracks = run_query(root, "SELECT track_id, status, removed FROM tracks ORDER BY removed")
    assert tracks.select("status", "removed").rows() == [("ok", False), ("ok", True)]
    files = run_query(root, "SELECT track_id, status FROM files ORDER BY status")
    assert files.rows() == [(tracks["track_id"][0], "present"), (tracks["track_id"][1], "removed")]
    # The README examples agree: one current track.
    by_status = run_query(root, EXAMPLES[0][1])
    assert by_status.select("status", "tracks").rows() == [("ok", 1)]
    onsets = run_query(root, EXAMPLES[2][1])
    assert set(onsets["tracks"]) == {1}
    assert run_query(root, EXAMPLES[10][1]).is_empty()


def scanned_partition(settings, instance) -> str:
    """Scan the folder and add the one track's partition, as the sensor would."""
    result = update_inventory(settings.layout.inventory, [Path(r) for r in settings.audio_roots])
    (track_id,) = result.present_tracks()["track_id"].to_list()
    instance.add_dynamic_partitions("tracks", [track_id])
    return track_id


def swap(path: Path, freq: float) -> None:
    """Replace ``path`` by other audio of the same size and mtime, as a hostile or careless
    copy would (``cp -p``, a sync tool)."""
    st = path.stat()
    new = path.with_name("incoming.tmp")
    tone(new, freq)
    os.replace(new, path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size


def failure_of(result, asset: str) -> str:
    """Why the run's one track failed at ``asset`` (the track assets are one batch step,
    ``tracks``, whose failure names each failed track and the asset it failed at)."""
    (event,) = [e for e in result.all_events if e.step_key == "tracks" and e.is_step_failure]
    (why,) = event.step_failure_data.user_failure_data.metadata["failed"].value.values()
    assert why.startswith(f"{asset}: "), why
    return why.removeprefix(f"{asset}: ")


def test_a_file_swapped_after_the_scan_fails_track_audio_and_the_next_scan_takes_it(
    make_settings, instance, tmp_path, run_resources
):
    audio = tmp_path / "audio"
    audio.mkdir()
    tone(audio / "song.wav", 220)
    settings = make_settings(audio)
    old_id = scanned_partition(settings, instance)
    swap(audio / "song.wav", 330)
    job = build_definitions(settings, resources=run_resources).resolve_job_def("process_tracks")
    result = job.execute_in_process(partition_key=old_id, instance=instance, raise_on_error=False)
    assert not result.success
    message = failure_of(result, "track_audio")
    assert message.startswith(f"{audio}/song.wav: changed while being processed (sha256 {old_id}")
    assert message.endswith("; it will be picked up by the next scan")
    assert "\n" not in message
    assert not (settings.layout.root / "stems").exists()  # nothing separated from other audio
    # The next run's scan hashes the new content and processes it as a new track.
    summary = run_folder(settings, instance=instance)
    assert len(summary.processed) == 1 and summary.processed[0] != old_id
    current = run_query(settings.layout.root, "SELECT track_id FROM tracks WHERE NOT removed")
    assert current["track_id"].to_list() == summary.processed


def test_a_file_swapped_during_separation_leaves_no_stems_for_the_old_track(
    make_settings, instance, tmp_path, run_resources
):
    audio = tmp_path / "audio"
    audio.mkdir()
    tone(audio / "song.wav", 220)
    settings = make_settings(audio)
    track_id = scanned_partition(settings, instance)
    job = build_definitions(settings, resources=run_resources).resolve_job_def("process_tracks")
    decoded = job.execute_in_process(
        partition_key=track_id, instance=instance, asset_selection=[_key("track_audio")]
    )
    assert decoded.success
    swap(audio / "song.wav", 330)  # after decoding, before separation
    result = job.execute_in_process(
        partition_key=track_id,
        instance=instance,
        asset_selection=[_key("stems")],
        raise_on_error=False,
    )
    assert not result.success
    assert "changed while being processed" in failure_of(result, "stems")
    stems_dir = settings.layout.stems_dir(settings.model_name, track_id)
    assert not stems_dir.exists() or not list(stems_dir.iterdir())
    record = pl.read_parquet(settings.layout.track(track_id))
    assert record["sha256"][0].startswith(track_id)  # the record still describes the old audio


def _key(name: str):
    import dagster as dg

    return dg.AssetKey(name)
