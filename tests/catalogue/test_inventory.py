"""The input inventory: content-hash track ids, MUSDB folders, removals, hashing budget."""

from __future__ import annotations

import hashlib
import os

import numpy as np
import polars as pl
import pytest
import soundfile as sf

from catalogue.content_hash import file_sha256
from catalogue.inventory import track_file
from catalogue.scan import scan
from catalogue.track_identity import InputChanged, discard_if_changed


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


# --- Hazards: entries that are not files, huge files, odd names, own storage ---


def finishes(fn, seconds=120.0):
    """``fn()``'s result; fails instead of hanging when it blocks (a FIFO) or spins (a
    device). The limit is a hang guard far above the milliseconds these calls take."""
    import threading

    out: dict = {}

    def target():
        try:
            out["value"] = fn()
        except BaseException as exc:  # handed to the test below
            out["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"{fn} still running after {seconds} s: it hangs"
    if "error" in out:
        raise out["error"]
    return out["value"]


def test_fifo_socket_and_device_link_are_recorded_by_kind_and_never_read(tmp_path):
    import socket

    good = tone(tmp_path / "good.wav")
    os.mkfifo(tmp_path / "pipe.wav")
    (tmp_path / "zero.wav").symlink_to("/dev/zero")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(tmp_path / "sock.wav"))
    try:
        result = finishes(lambda: scan([tmp_path]))
    finally:
        sock.close()
    by_path = rows(result)
    assert by_path[str(tmp_path / "pipe.wav")]["problem"] == (
        "is a FIFO (named pipe), not an audio file"
    )
    assert by_path[str(tmp_path / "zero.wav")]["problem"] == (
        "is a character device, not an audio file"
    )
    assert by_path[str(tmp_path / "sock.wav")]["problem"] == "is a socket, not an audio file"
    assert by_path[str(good)]["sha256"] == file_sha256(good)
    bad = [r for p, r in by_path.items() if p != str(good)]
    assert all(r["status"] == "present" and r["track_id"] and not r["sha256"] for r in bad)


def test_a_fifo_swapped_in_after_the_stat_is_refused_without_blocking(tmp_path):
    from catalogue.content_hash import NotRegularFile, hash_file

    os.mkfifo(tmp_path / "late.wav")  # what the scan's open meets if the swap wins the race
    for read in (lambda: file_sha256(tmp_path / "late.wav"),
                 lambda: hash_file(tmp_path / "late.wav", deadline=0.0)):  # fmt: skip
        try:
            finishes(read)
        except NotRegularFile as exc:
            assert str(exc) == "is a FIFO (named pipe), not an audio file"
        else:
            raise AssertionError("a FIFO was read")


def sparse(path, size):
    import pytest

    try:
        with open(path, "wb") as fh:
            fh.truncate(size)
    except OSError as exc:
        pytest.skip(f"no sparse file of {size} bytes here: {exc}")
    return path


def test_the_time_budget_stops_inside_a_huge_file_and_later_scans_resume_it(tmp_path):
    import hashlib

    from catalogue.content_hash import CHUNK_BYTES

    huge = sparse(tmp_path / "huge.wav", 1 << 40)  # 1 TiB of zeros: hours to hash
    first = finishes(lambda: scan([tmp_path], time_budget_s=0.0))
    row = rows(first)[str(huge)]
    assert row["status"] == "pending" and row["track_id"] is None
    assert row["hashed_bytes"] == CHUNK_BYTES  # one chunk: the progress every scan makes
    second = finishes(lambda: scan([tmp_path], first.inventory, time_budget_s=0.0))
    assert rows(second)[str(huge)]["hashed_bytes"] == 2 * CHUNK_BYTES  # resumed, not restarted

    # A file that spans several scans ends with the same hash as one read in one go.
    huge.unlink()
    data = np.random.default_rng(0).bytes(3 * CHUNK_BYTES + 1234)
    (tmp_path / "big.wav").write_bytes(data)
    result, scans = scan([tmp_path], time_budget_s=0.0), 1
    while result.pending:
        result, scans = scan([tmp_path], result.inventory, time_budget_s=0.0), scans + 1
    row = rows(result)[str(tmp_path / "big.wav")]
    assert scans == 4 and row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["status"] == "present" and row["hash_state"] is None


def test_a_huge_file_does_not_hold_back_new_files(tmp_path):
    sparse(tmp_path / "a_huge.wav", 1 << 40)
    first = finishes(lambda: scan([tmp_path], time_budget_s=0.0))
    assert rows(first)[str(tmp_path / "a_huge.wav")]["hashed_bytes"]
    small = tone(tmp_path / "b_small.wav")
    second = finishes(lambda: scan([tmp_path], first.inventory, time_budget_s=0.0))
    assert rows(second)[str(small)]["status"] == "present"  # new files go before resumes


def test_a_name_that_is_not_utf8_is_stored_losslessly_and_shown_escaped(tmp_path):
    from catalogue.path_names import real_path

    raw = os.fsencode(tmp_path) + b"/Caf\xe9.wav"
    tone(tmp_path / "tmp.wav")
    os.rename(tmp_path / "tmp.wav", raw)
    tone(tmp_path / "plain.wav", freq=330)
    result = scan([tmp_path])
    row = rows(result)[str(tmp_path) + "/Caf\\xe9.wav"]
    assert row["path_bytes"] == raw and row["status"] == "present"
    assert row["sha256"] == file_sha256(raw)
    assert os.fsencode(real_path(result.inventory, row["path"])) == raw
    assert real_path(result.inventory, str(tmp_path / "plain.wav")) == str(tmp_path / "plain.wav")
    # Kept across scans without re-hashing, keyed by its exact bytes.
    again = scan([tmp_path], result.inventory, max_hashes=0)
    assert again.pending == 0 and again.inventory.height == 2


def test_storage_folders_are_never_scanned(tmp_path):
    music = tmp_path / "music"
    song = tone(music / "song.wav")
    storage = music / "data"  # `cd music; stemline run .` with the default ./data
    tone(storage / "stems" / "2stems" / "0123456789abcdef" / "vocals.wav")
    other = music / "old-store"  # another stemline storage, recognised by its files
    tone(other / "stems" / "x" / "vocals.flac")
    (other / "catalogue.duckdb").write_bytes(b"")
    result = scan([music], exclude=[storage])
    assert list(rows(result)) == [str(song)]
    assert result.excluded == [str(storage), str(other)]
    # Storage used as the audio root itself: its own output folders are left out.
    (storage / "inventory").mkdir()
    (storage / "inventory" / "files.parquet").write_bytes(b"")
    tone(storage / "mine.wav", freq=330)
    assert list(rows(scan([storage], exclude=[storage]))) == [str(storage / "mine.wav")]


def test_an_overwritten_file_keeps_its_old_track_marked_removed(tmp_path):
    song = tone(tmp_path / "song.wav")
    first = scan([tmp_path])
    old_id = rows(first)[str(song)]["track_id"]
    tone(song, freq=550)  # overwritten in place
    second = scan([tmp_path], first.inventory)
    by_status = {r["status"]: r for r in second.inventory.iter_rows(named=True)}
    assert set(by_status) == {"present", "removed"}
    assert by_status["removed"]["track_id"] == old_id
    assert by_status["present"]["track_id"] == file_sha256(song)[:16] != old_id
    assert second.present_tracks()["track_id"].to_list() == [by_status["present"]["track_id"]]
    # Stable over further scans, and restoring the old content makes it present again.
    third = scan([tmp_path], second.inventory)
    assert third.inventory.drop("last_seen").equals(second.inventory.drop("last_seen"))
    tone(song)
    fourth = scan([tmp_path], third.inventory)
    assert fourth.present_tracks()["track_id"].to_list() == [old_id]
    assert sorted(fourth.inventory["status"]) == ["present", "removed"]


def test_a_swap_keeping_size_and_mtime_is_still_rehashed(tmp_path):
    song = tone(tmp_path / "song.wav")
    first = scan([tmp_path])
    st = song.stat()
    other = tone(tmp_path / "other" / "new.wav", freq=550)  # same size, other samples
    os.replace(other, song)
    os.utime(song, ns=(st.st_atime_ns, st.st_mtime_ns))  # as `cp -p` or a hostile swap
    assert (song.stat().st_size, song.stat().st_mtime_ns) == (st.st_size, st.st_mtime_ns)
    second = scan([tmp_path], first.inventory)
    assert rows(second)[str(song)]["sha256"] == file_sha256(song)


def test_outputs_of_a_changed_input_are_discarded(tmp_path):
    source = tmp_path / "song.wav"
    source.write_bytes(b"the scanned content")
    scanned = hashlib.sha256(b"the scanned content").hexdigest()
    outputs = [tmp_path / "vocals.flac", tmp_path / "stems.parquet", tmp_path / "never-written"]
    for path in outputs[:2]:
        path.write_bytes(b"stem")
    discard_if_changed(str(source), scanned, outputs)  # unchanged: outputs kept
    assert all(p.exists() for p in outputs[:2])
    source.write_bytes(b"other content")
    with pytest.raises(InputChanged, match="changed while being processed"):
        discard_if_changed(str(source), scanned, outputs)
    assert not any(p.exists() for p in outputs)


def test_a_track_is_read_from_its_first_file_not_removed(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    for name in ("b.wav", "a.wav", "c.wav"):
        (music / name).write_bytes(b"the same bytes")  # three copies: one track
    inventory = scan([music]).inventory
    (track_id,) = set(inventory["track_id"])
    found = track_file(inventory, track_id)
    assert found.source == str(music / "a.wav") and found.copies == 3
    assert found.entry["sha256"] == hashlib.sha256(b"the same bytes").hexdigest()
    removed = inventory.with_columns(
        pl.when(pl.col("path").str.ends_with("a.wav"))
        .then(pl.lit("removed"))
        .otherwise(pl.col("status"))
        .alias("status")
    )
    assert track_file(removed, track_id).source == str(music / "b.wav")
    assert track_file(inventory, "0" * 16) is None
