"""The input inventory: content-hash track ids, MUSDB folders, removals, hashing budget."""

from __future__ import annotations

import os

import numpy as np
import polars as pl
import soundfile as sf

from catalogue.inventory import file_sha256, scan


def tone(path, seconds=0.5, freq=440.0, rate=8000):
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), rate)
    return path


def rows(result):
    return {r["path"]: r for r in result.inventory.iter_rows(named=True)}


def test_track_ids_are_content_hashes_so_duplicates_share_one(tmp_path):
    a = tone(tmp_path / "a.wav")
    b = tmp_path / "sub" / "copy of a.wav"
    b.parent.mkdir()
    b.write_bytes(a.read_bytes())
    tone(tmp_path / "c.flac", freq=220)
    (tmp_path / "notes.txt").write_text("not audio")
    result = scan([tmp_path])
    by_path = rows(result)
    assert len(by_path) == 3
    assert by_path[str(a)]["track_id"] == by_path[str(b)]["track_id"] == file_sha256(a)[:16]
    assert result.present_tracks().height == 2


def test_unchanged_files_keep_their_hash_without_rehashing(tmp_path):
    tone(tmp_path / "a.wav")
    first = scan([tmp_path])
    second = scan([tmp_path], first.inventory, max_hashes=0)
    assert second.hashed == 0 and second.pending == 0
    assert second.inventory["sha256"].to_list() == first.inventory["sha256"].to_list()


def test_changed_file_becomes_a_new_track_and_removed_files_are_marked(tmp_path):
    a = tone(tmp_path / "a.wav")
    b = tone(tmp_path / "b.wav", freq=330)
    first = scan([tmp_path])
    old_id = rows(first)[str(a)]["track_id"]
    tone(a, freq=550)
    os.utime(a, ns=(1, 1))  # a different mtime even on coarse clocks
    b.unlink()
    second = scan([tmp_path], first.inventory)
    by_path = rows(second)
    assert by_path[str(a)]["track_id"] != old_id
    assert by_path[str(b)]["status"] == "removed"
    assert by_path[str(b)]["track_id"] == rows(first)[str(b)]["track_id"]


def test_musdb_folders_make_one_track_with_references(tmp_path):
    song = tmp_path / "Artist - Song"
    mix = tone(song / "mixture.wav")
    for name in ("vocals", "drums", "bass", "other"):
        tone(song / f"{name}.wav", freq=100 + len(name) * 50)
    by_path = rows(scan([tmp_path]))
    assert by_path[str(mix)]["role"] == "track"
    refs = {r["reference_stem"]: r for r in by_path.values() if r["role"] == "reference"}
    assert set(refs) == {"vocals", "drums", "bass", "other"}
    assert {r["mixture_path"] for r in refs.values()} == {str(mix)}


def test_unusable_entries_are_kept_with_their_problem(tmp_path):
    tone(tmp_path / "ok.wav")
    (tmp_path / "folder.wav").mkdir()
    (tmp_path / "gone.wav").symlink_to(tmp_path / "missing.wav")
    by_path = rows(scan([tmp_path]))
    assert by_path[str(tmp_path / "folder.wav")]["problem"] == "is a directory, not an audio file"
    assert "dangling" in by_path[str(tmp_path / "gone.wav")]["problem"]
    assert all(r["track_id"] for r in by_path.values())


def test_hashing_budget_leaves_the_rest_pending(tmp_path):
    for i in range(10):
        tone(tmp_path / f"t{i:02d}.wav", freq=200 + 10 * i)
    first = scan([tmp_path], max_hashes=4)
    assert (first.hashed, first.pending) == (4, 6)
    pending = first.inventory.filter(pl.col("status") == "pending")
    assert pending["track_id"].null_count() == 6
    second = scan([tmp_path], first.inventory, max_hashes=4)
    third = scan([tmp_path], second.inventory, max_hashes=4)
    assert (second.pending, third.pending) == (2, 0)
    assert third.present_tracks().height == 10


def test_scanning_one_root_keeps_the_other_roots_entries(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    tone(a / "x.wav")
    tone(b / "y.wav", freq=330)
    both = scan([a, b])
    only_a = scan([a], both.inventory)
    by_path = rows(only_a)
    assert by_path[str(b / "y.wav")]["status"] == "present"  # not scanned, not removed
    (a / "x.wav").unlink()
    assert rows(scan([a], only_a.inventory))[str(a / "x.wav")]["status"] == "removed"
