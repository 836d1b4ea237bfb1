"""Atomic writes: the target is replaced whole or not at all; no temporary file stays."""

from __future__ import annotations

import pytest

from atomicfile import TEMP_SUFFIX, atomic_path, atomic_write_bytes


def test_replaces_target_and_leaves_no_temp(tmp_path):
    target = tmp_path / "a.bin"
    atomic_write_bytes(target, b"old")
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_failure_keeps_old_file_and_removes_temp(tmp_path):
    target = tmp_path / "a.bin"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_bytes(b"half")
        assert tmp.parent == tmp_path and tmp.name.endswith(TEMP_SUFFIX)
        raise RuntimeError("writer crashed")
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.bin"]


def test_failure_before_writing_creates_nothing(tmp_path):
    with pytest.raises(ValueError), atomic_path(tmp_path / "never.bin"):
        raise ValueError
    assert list(tmp_path.iterdir()) == []


def test_leftovers_of_dead_writers_are_swept_but_live_ones_kept(tmp_path):
    import subprocess

    from atomicfile import sweep_leftovers, temporary_name

    target = tmp_path / "table.parquet"
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = target.with_name(f".{target.name}.{dead.pid}.abcd1234.tmp")
    stale.write_bytes(b"half")
    mine = temporary_name(target)
    mine.write_bytes(b"in progress")
    assert sweep_leftovers(target) == [stale]
    assert mine.exists() and not stale.exists()
