"""The folder sensor, driven tick by tick as Dagster would."""

from __future__ import annotations

import json
import os

import dagster as dg
import numpy as np
import soundfile as sf

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


def test_new_unchanged_and_changed_files(make_settings, instance, tmp_path):
    audio = tmp_path / "audio"
    write_tone(audio / "one.wav", 220)
    settings = make_settings(audio)
    first = tick(settings, instance)
    assert len(first.run_requests) == 1
    key = first.run_requests[0].partition_key
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
    assert third.run_requests[0].partition_key != key
    assert third.run_requests[0].run_key.startswith(third.run_requests[0].partition_key + "@")


def test_a_thousand_files_are_paged_across_ticks(make_settings, instance, tmp_path):
    audio = tmp_path / "many"
    for i in range(1000):
        write_tone(audio / f"d{i // 100}" / f"f{i:04d}.wav", 100 + i, seconds=0.01)
    settings = make_settings(audio, hashes_per_tick=300)
    cursor, requested, pendings = None, 0, []
    for _ in range(5):
        result = tick(settings, instance, cursor)
        cursor = result.cursor
        requested += len(result.run_requests or [])
        pendings.append(json.loads(cursor)["pending"])
    assert pendings[:4] == [700, 400, 100, 0]
    assert requested == 1000
    assert len(instance.get_dynamic_partitions("tracks")) == 1000
