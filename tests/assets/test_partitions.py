"""Readable partition keys that keep content identity (issue 14, item 19)."""

from __future__ import annotations

import pytest

from assets.partitions import partition_key, partition_keys_for, path_slug, track_id_of
from catalogue.layout import UnsafeNameError

TID = "0123456789abcdef"


@pytest.mark.parametrize(
    ("path", "slug"),
    [
        ("/music/Album/03 Café del Mar.flac", "03-cafe-del-mar"),
        ("/musdb/train/Song A/mixture.wav", "song-a"),
        ("/x/song_03.WAV", "song-03"),
        ("/x/日本語.wav", ""),
        ("/x/Caf\\xe9.wav", "caf-xe9"),
        ("/x/" + "a" * 100 + ".wav", "a" * 40),
        ("/x/--a  b--.mp3", "a-b"),
    ],
)
def test_slug_of_a_path(path, slug):
    assert path_slug(path) == slug


def test_key_holds_the_track_id_and_reads_back():
    key = partition_key(TID, "/music/Song 03.wav")
    assert key == f"song-03-{TID}"
    assert track_id_of(key) == TID
    assert track_id_of(TID) == TID  # a bare track id is a key too
    assert partition_key(TID, "/x/日本語.wav") == TID


@pytest.mark.parametrize(
    "bad", ["", "song-03", f"song-{TID[:-1]}", f"Song-{TID}", f"a/b-{TID}", f"-{TID}", TID.upper()]
)
def test_other_keys_are_refused(bad):
    with pytest.raises(UnsafeNameError):
        track_id_of(bad)


def test_an_existing_key_is_reused_for_its_track():
    other = "fedcba9876543210"
    keys, new = partition_keys_for(
        [(TID, "/music/renamed.wav"), (other, "/music/b.wav"), (other, "/music/c.wav")],
        existing=[f"old-name-{TID}", "hand-made-key"],
    )
    assert keys == {TID: f"old-name-{TID}", other: f"b-{other}"}
    assert new == [f"b-{other}"]
