"""Manifest: round trip, relative paths that resolve, sorting, unique keys, empty."""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl
import pytest

from features.notes import empty_notes
from features.onsets import empty_onsets
from features.pitch import empty_pitch_frames
from transcription import (
    MANIFEST_SCHEMA,
    read_manifest,
    stem_channels,
    write_manifest,
    write_multitrack_midi,
    write_transcription_bundle,
)

SR = 16000


def bundle(root, track_id, stem, notes, pitch, onsets, seconds=1.0):
    audio = np.zeros((int(seconds * SR), 2), np.float32)
    return write_transcription_bundle(
        root / "4stems" / track_id,
        track_id=track_id,
        stem=stem,
        model="4stems",
        audio=audio,
        sample_rate=SR,
        notes=notes,
        pitch=pitch,
        onsets=onsets,
    )


@pytest.fixture
def bundles(tmp_path, notes, pitch, onsets):
    return [
        bundle(tmp_path, "ff01", "vocals", notes, pitch, onsets, seconds=2.0),
        bundle(tmp_path, "ab12", "bass", empty_notes(), empty_pitch_frames(), empty_onsets()),
    ]


def test_round_trip(tmp_path, bundles):
    path = tmp_path / "manifest.parquet"
    written = write_manifest(bundles, path)
    back = read_manifest(path)
    assert back.equals(written)
    assert back.schema == pl.Schema(MANIFEST_SCHEMA)
    assert back["track_id"].to_list() == ["ab12", "ff01"]  # sorted by (model, track, stem)
    row = back.row(1, named=True)
    assert row["midi_path"] == "4stems/ff01/vocals.mid"
    assert row["audio_path"] == "4stems/ff01/vocals_16000hz_mono.flac"
    assert (row["n_notes"], row["midi_min"], row["midi_max"]) == (3, 69, 72)
    assert row["duration_s"] == 2.0 and row["sample_rate"] == SR
    for kind in ("midi", "notes", "audio", "jams"):
        assert all((tmp_path / p).is_file() for p in back[f"{kind}_path"])


def test_silent_row(tmp_path, bundles):
    back = write_manifest(bundles, tmp_path / "m.parquet")
    silent = back.filter(pl.col("stem") == "bass").row(0, named=True)
    assert silent["n_notes"] == 0 and silent["n_voiced_frames"] == 0
    assert silent["midi_min"] is None and silent["midi_max"] is None


def test_paths_relative_to_manifest_folder(tmp_path, bundles):
    path = tmp_path / "reports" / "manifest.parquet"
    back = write_manifest(bundles, path)
    assert back["jams_path"].to_list()[0] == "../4stems/ab12/bass.jams"
    assert all((path.parent / p).resolve().is_file() for p in back["jams_path"])


def test_duplicate_keys_rejected(tmp_path, bundles):
    with pytest.raises(ValueError, match="repeat"):
        write_manifest([*bundles, bundles[0]], tmp_path / "m.parquet")
    assert not (tmp_path / "m.parquet").exists()


def test_empty_manifest_and_atomic(tmp_path):
    path = tmp_path / "m.parquet"
    assert write_manifest([], path).height == 0
    assert read_manifest(path).schema == pl.Schema(MANIFEST_SCHEMA)
    assert [p.name for p in tmp_path.iterdir()] == ["m.parquet"]


def test_not_a_manifest(tmp_path):
    path = tmp_path / "other.parquet"
    pl.DataFrame({"x": [1]}).write_parquet(path)
    with pytest.raises(ValueError, match="not a transcription manifest"):
        read_manifest(path)


def test_checksums_and_midi_voice(tmp_path, bundles):
    back = write_manifest(bundles, tmp_path / "m.parquet")
    for row in back.iter_rows(named=True):
        for kind in ("midi", "notes", "audio", "jams"):
            data = (tmp_path / row[f"{kind}_path"]).read_bytes()
            assert row[f"{kind}_sha256"] == hashlib.sha256(data).hexdigest()
        assert row["multitrack_path"] is None and row["multitrack_sha256"] is None
    voices = {
        r["stem"]: (r["midi_channel"], r["midi_program"], r["percussion"])
        for r in back.iter_rows(named=True)
    }
    assert voices == {"vocals": (0, 53, False), "bass": (2, 33, False)}


def test_multitrack_file_listed_on_every_row_of_its_track(tmp_path, notes, pitch, onsets):
    stems = ["vocals", "drums", "bass", "other"]
    channels = stem_channels(stems)
    track = [
        bundle(tmp_path, "cd34", stem, notes if stem == "vocals" else empty_notes(), pitch, onsets)
        for stem in stems
    ]
    assert [b.midi_channel for b in track] == [channels[s] for s in stems]
    multitrack = write_multitrack_midi(tmp_path / "4stems/cd34/multitrack.mid", track)
    other = bundle(tmp_path, "ff01", "vocals", notes, pitch, onsets)
    path = tmp_path / "4stems" / "manifest.parquet"
    back = write_manifest([*track, other], path, [multitrack])
    assert back.height == 5
    of_track = back.filter(pl.col("track_id") == "cd34")
    assert set(of_track["stem"]) == set(stems)
    assert set(of_track["multitrack_path"]) == {"cd34/multitrack.mid"}
    digest = hashlib.sha256(multitrack.path.read_bytes()).hexdigest()
    assert set(of_track["multitrack_sha256"]) == {digest}
    drums = of_track.filter(pl.col("stem") == "drums").row(0, named=True)
    assert (drums["midi_channel"], drums["percussion"]) == (9, True)
    assert back.filter(pl.col("track_id") == "ff01")["multitrack_path"].to_list() == [None]
    assert read_manifest(path).equals(back)

    with pytest.raises(ValueError, match="holds stems"):
        write_manifest(track[:2], tmp_path / "x.parquet", [multitrack])
    with pytest.raises(ValueError, match="two multi-track"):
        write_manifest(track, tmp_path / "x.parquet", [multitrack, multitrack])
