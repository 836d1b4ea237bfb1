"""The folder sensor, driven tick by tick as Dagster would."""

from __future__ import annotations

import json
import os

import dagster as dg
import numpy as np
import soundfile as sf

from assets.partitions import TRACKS, track_id_of
from orchestration.definitions import build_definitions


def write_tone(path, freq, seconds=0.2, rate=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.2 * np.sin(2 * np.pi * freq * t), rate)


def tick(settings, instance, cursor=None):
    defs = build_definitions(settings)
    sensor = defs.resolve_sensor_def("audio_folder_sensor")
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"settings": settings}
    )
    result = sensor(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def requested_keys(instance, request) -> list[str]:
    """The partitions a run request covers (a range of consecutive partitions)."""
    keys = instance.get_dynamic_partitions(TRACKS)
    first, last = request.partition_key_range.start, request.partition_key_range.end
    return keys[keys.index(first) : keys.index(last) + 1]


def test_new_unchanged_and_changed_files(make_settings, instance, tmp_path):
    audio = tmp_path / "audio"
    write_tone(audio / "one.wav", 220)
    settings = make_settings(audio)
    first = tick(settings, instance)
    assert len(first.run_requests) == 1
    (key,) = requested_keys(instance, first.run_requests[0])
    assert instance.get_dynamic_partitions("tracks") == [key]
    # Unchanged folder: no runs.
    second = tick(settings, instance, first.cursor)
    assert not second.run_requests
    assert "no new tracks" in second.skip_reason.skip_message
    # A changed file is a new track; a copy of an existing file is not.
    write_tone(audio / "one.wav", 330)
    os.utime(audio / "one.wav", ns=(10**9, 10**9))
    (audio / "copy.wav").write_bytes((audio / "one.wav").read_bytes())
    third = tick(settings, instance, second.cursor)
    assert len(third.run_requests) == 1
    (new_key,) = requested_keys(instance, third.run_requests[0])
    assert new_key != key
    # keyed by the tracks it covers and the stems code version: never requested twice
    assert third.run_requests[0].run_key != first.run_requests[0].run_key
    assert third.run_requests[0].run_key.endswith("@" + settings_code_version(settings))
    # Readable keys: the first path's slug before the track id ("copy.wav" sorts first).
    assert key.startswith("one-") and new_key.startswith("copy-")
    assert track_id_of(key) != track_id_of(new_key)


def test_a_thousand_files_are_paged_across_ticks(make_settings, instance, tmp_path):
    audio = tmp_path / "many"
    for i in range(1000):
        write_tone(audio / f"d{i // 100}" / f"f{i:04d}.wav", 100 + i, seconds=0.01)
    settings = make_settings(audio, hashes_per_tick=300, tracks_per_run=16)
    cursor, requested, runs, pendings = None, [], 0, []
    for _ in range(5):
        result = tick(settings, instance, cursor)
        cursor = result.cursor
        for request in result.run_requests or []:
            requested += requested_keys(instance, request)
        runs += len(result.run_requests or [])
        pendings.append(json.loads(cursor)["pending"])
    assert pendings[:4] == [700, 400, 100, 0]
    # every track requested once, in runs of 16: 300 new tracks a tick make 19 runs
    assert sorted(requested) == sorted(instance.get_dynamic_partitions("tracks"))
    assert len(requested) == 1000 and runs == 3 * 19 + 7


def settings_code_version(settings) -> str:
    from resources.separation_engine import SeparationEngine

    return SeparationEngine(model=settings.model).code_version()


def finished(fn, seconds=120.0):
    """``fn()``'s result, or a failure instead of a hang (the limit is a guard, not a timing
    assertion: these ticks take well under a second)."""
    import threading

    out: dict = {}
    thread = threading.Thread(target=lambda: out.update(value=fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), "the tick hangs"
    assert "value" in out, "the tick raised (see the thread's traceback above)"
    return out["value"]


def files_view(settings):
    import polars as pl

    inventory = pl.read_parquet(settings.layout.inventory)
    return {os.path.basename(r["path"]): r for r in inventory.iter_rows(named=True)}


def test_a_fifo_and_a_device_link_do_not_stall_a_tick(make_settings, instance, tmp_path):
    audio = tmp_path / "audio"
    write_tone(audio / "good.wav", 220)
    os.mkfifo(audio / "pipe.wav")
    (audio / "zero.wav").symlink_to("/dev/zero")
    settings = make_settings(audio)
    result = finished(lambda: tick(settings, instance))
    # Each gets a partition, so the run records its error: the kind of entry it is.
    assert [len(requested_keys(instance, r)) for r in result.run_requests] == [3]
    files = files_view(settings)
    assert files["pipe.wav"]["problem"] == "is a FIFO (named pipe), not an audio file"
    assert files["zero.wav"]["problem"] == "is a character device, not an audio file"
    assert files["good.wav"]["sha256"] and files["good.wav"]["problem"] is None


def test_the_tick_budget_bounds_time_inside_a_huge_file(make_settings, instance, tmp_path):
    from orchestration.sensors import make_folder_sensor

    audio = tmp_path / "audio"
    audio.mkdir()
    with open(audio / "a_huge.wav", "wb") as fh:
        fh.truncate(1 << 40)  # a sparse TiB: hours of hashing
    write_tone(audio / "b.wav", 220)
    settings = make_settings(audio)
    job = build_definitions(settings).resolve_job_def("process_tracks")
    sensor = make_folder_sensor(job, "v1", tick_budget_s=0.2)

    def run_tick(cursor):
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, resources={"settings": settings}
        )
        result = finished(lambda: sensor(context))
        for request in result.dynamic_partitions_requests or []:
            instance.add_dynamic_partitions(TRACKS, list(request.partition_keys))
        return result

    first = run_tick(None)
    assert not first.run_requests and json.loads(first.cursor)["pending"] == 2
    started = files_view(settings)["a_huge.wav"]["hashed_bytes"]
    assert started > 0  # stopped inside the file, its progress kept
    second = run_tick(first.cursor)  # the new small file goes before the huge one resumes
    assert len(second.run_requests) == 1 and files_view(settings)["b.wav"]["status"] == "present"
    run_tick(second.cursor)
    huge = files_view(settings)["a_huge.wav"]
    assert huge["status"] == "pending" and huge["hashed_bytes"] > started
