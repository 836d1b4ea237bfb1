"""The whole pipeline over the bad-input corpus: every valid file processed, every invalid one
recorded with a reason, only those partitions failed, no partial outputs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from catalogue.query import run_query
from orchestration.pipeline import run_folder
from tests.corpus import write_corpus


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    audio = tmp_path_factory.mktemp("corpus")
    expect = write_corpus(audio)
    storage = tmp_path_factory.mktemp("data")
    from resources.settings import StemlineSettings

    settings = StemlineSettings(storage_root=str(storage), audio_roots=[str(audio)])
    with dg.instance_for_test() as instance:
        summary = run_folder(settings, instance=instance)
    return audio, storage, expect, summary


def test_every_file_gets_the_expected_status_and_reason(processed):
    audio, storage, expect, _ = processed
    tracks = run_query(
        storage,
        "SELECT t.track_id, f.path, t.status, t.error FROM files f "
        "JOIN tracks t USING (track_id) WHERE f.role = 'track'",
    )
    by_path = {Path(p).relative_to(audio).as_posix(): (s, e) for _, p, s, e in tracks.iter_rows()}
    assert set(by_path) == set(expect)
    for name, (status, fragment) in expect.items():
        got_status, error = by_path[name]
        assert got_status == status, (name, error)
        if fragment:
            assert fragment in error, (name, error)
            assert name.split("/")[-1] in error or "dangling" in error, (name, error)


def test_only_invalid_partitions_failed_and_the_run_finished(processed):
    _, storage, expect, summary = processed
    invalid = sum(1 for status, _ in expect.values() if status == "error")
    assert len(summary.failed) == invalid
    # One track for the two identical files: valid entries minus one duplicate.
    valid_tracks = sum(1 for status, _ in expect.values() if status == "ok") - 1
    assert len(summary.processed) == valid_tracks
    assert (storage / "catalogue.duckdb").is_file()


def test_awkward_inputs_are_handled_as_documented(processed):
    _, storage, _, _ = processed
    stems = run_query(
        storage,
        """
        SELECT regexp_extract(t.path, '[^/]+$') AS name, s.stem, s.sample_rate, s.clipped_samples,
               s.duration_s, s.is_silent
        FROM stems s JOIN tracks t USING (track_id)""",
    )
    rows = {(r["name"], r["stem"]): r for r in stems.iter_rows(named=True)}
    assert rows[("mono_8k.wav", "vocals")]["sample_rate"] == 8000
    assert rows[("hires_96k_24bit.flac", "vocals")]["sample_rate"] == 96000
    assert rows[("clip_50ms.wav", "vocals")]["duration_s"] == pytest.approx(0.05, abs=1e-3)
    assert rows[("silence.wav", "vocals")]["is_silent"]
    assert rows[("silence.wav", "accompaniment")]["is_silent"]
    loud = rows[("loud_float.wav", "accompaniment")]["clipped_samples"]
    assert loud > 0  # clipped at full scale in the 16-bit FLAC stem, and reported


def test_no_partial_or_temporary_files_anywhere(processed):
    _, storage, _, _ = processed
    leftovers = [p for p in storage.rglob("*") if p.name.endswith((".tmp", ".part"))]
    assert leftovers == []
