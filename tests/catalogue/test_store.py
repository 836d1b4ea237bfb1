"""The storage boundary on real files: every artifact of a track is written where the
catalogue's views read it, read back unchanged, replaced atomically; outputs a step needs that
are missing, damaged or unusable raise the library exception with the one line users see,
naming the file; the input lookups go through a real scan inventory."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import polars as pl
import pytest
import soundfile as sf

from catalogue.inventory import update_inventory
from catalogue.layout import StorageLayout
from catalogue.schema import EVALUATION_SCHEMA, RUN_SCHEMA, STEM_SCHEMA, TRACK_SCHEMA
from catalogue.store import (
    FEATURE_KINDS,
    DamagedFileError,
    DamagedOutput,
    MissingOutput,
    TrackStore,
    UnsafeNameError,
    UnusableTrack,
    stems_data_version,
)

TRACK_ID = "0123456789abcdef"
RATE = 8000


@pytest.fixture
def store(tmp_path) -> TrackStore:
    return TrackStore(StorageLayout(tmp_path / "data"), TRACK_ID, "2stems")


def tone(path: Path, freq: float, seconds: float = 0.5, rate: int = RATE) -> Path:
    """An exactly known sine tone written as a file (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(seconds * rate)) / rate
    sf.write(path, 0.3 * np.sin(2 * np.pi * freq * t), rate)
    return path


def ok_record(**values) -> dict:
    return {
        "track_id": TRACK_ID,
        "path": "/music/song.wav",
        "sha256": "ab" * 32,
        "status": "ok",
        "duration_s": 0.5,
        "sample_rate": RATE,
        "channels": 1,
        "n_samples": RATE // 2,
        "checked_at": datetime(2026, 12, 2, tzinfo=UTC),
        "run_id": "run-1",
        **values,
    }


def write_stems(store: TrackStore, rates: dict[str, int] | None = None) -> pl.DataFrame:
    """Two real FLAC stems and their stems table."""
    rates = rates or {"vocals": RATE, "accompaniment": RATE}
    files = {
        stem: tone(store.stems_dir / f"{stem}.flac", 440.0 * (i + 1), rate=rate)
        for i, (stem, rate) in enumerate(rates.items())
    }
    return store.write_stems_table(
        files,
        {stem: (-13.5, -10.5) for stem in files},
        {"vocals": 3},
        codec="flac",
        checkpoint_sha256="f" * 64,
        code_version="spleeter:2stems@f3a90b39dd28/engine1",
        duration_s=0.5,
        sample_rate=RATE,
        mixture_residual_db=-70.0,
        separation_s=0.1,
        written_at=datetime(2026, 12, 2, tzinfo=UTC),
        run_id="run-2",
    )


# -- paths: exactly where the catalogue views and existing storage have them -----------------


def test_every_artifact_is_where_the_storage_layout_puts_it(store):
    root = store.layout.root
    assert store.record_path == root / "tracks" / f"{TRACK_ID}.parquet"
    assert store.stems_dir == root / "stems" / "2stems" / TRACK_ID
    assert store.stems_table_path == root / "stems" / "2stems" / TRACK_ID / "stems.parquet"
    for kind in FEATURE_KINDS:
        expected = root / "features" / kind / TRACK_ID / "2stems" / "vocals.parquet"
        assert store.feature_path(kind, "vocals") == expected
    assert store.evaluation_path == root / "evaluation" / TRACK_ID / "2stems.parquet"
    exports = root / "exports" / "transcription" / "2stems" / TRACK_ID
    assert store.transcription_dir == exports
    assert store.transcription_manifest == exports / "manifest.parquet"
    assert store.run_record_path("stems") == root / "runs" / "stems" / f"{TRACK_ID}.parquet"


@pytest.mark.parametrize(("track_id", "model"), [("../etc", "2stems"), (TRACK_ID, "../2stems")])
def test_names_that_would_leave_the_root_are_refused(tmp_path, track_id, model):
    with pytest.raises(UnsafeNameError):
        TrackStore(StorageLayout(tmp_path), track_id, model)


# -- round trips through real Parquet files ----------------------------------------------------


def test_the_track_record_round_trips_in_the_track_schema(store):
    store.write_track_record(ok_record(format="WAV", subtype="PCM_16", peak_dbfs=-10.5))
    stored = pl.read_parquet(store.record_path)
    assert stored.schema == pl.Schema(TRACK_SCHEMA)
    assert stored.height == 1
    row = store.track_record()
    assert row == stored.row(0, named=True)
    assert (row["track_id"], row["status"], row["format"], row["error"]) == (
        TRACK_ID,
        "ok",
        "WAV",
        None,
    )
    assert row["peak_dbfs"] == pytest.approx(-10.5)
    assert store.recorded_error() is None


def test_the_stems_table_and_stem_audio_round_trip(store):
    written = write_stems(store)
    stored = pl.read_parquet(store.stems_table_path)
    assert stored.schema == pl.Schema(STEM_SCHEMA)
    assert stored.equals(written)
    rows = store.stem_rows()
    assert [r["stem"] for r in rows] == ["vocals", "accompaniment"]
    assert {r["track_id"] for r in rows} == {TRACK_ID} and {r["model"] for r in rows} == {"2stems"}
    assert [r["clipped_samples"] for r in rows] == [3, 0]
    audio, rate = store.read_stems(rows)
    assert rate == RATE and list(audio) == ["vocals", "accompaniment"]
    t = np.arange(RATE // 2) / RATE
    for i, stem in enumerate(audio):
        assert audio[stem].dtype == np.float32 and audio[stem].shape == (RATE // 2, 1)
        expected = 0.3 * np.sin(2 * np.pi * 440.0 * (i + 1) * t)
        np.testing.assert_allclose(audio[stem][:, 0], expected, atol=1 / 2**15)  # 16-bit FLAC
    data, single_rate = store.read_stem(rows[0])
    assert single_rate == RATE and np.array_equal(data, audio["vocals"])


def test_stems_at_different_rates_are_refused_naming_the_stems_table(store):
    rows = write_stems(store, {"vocals": RATE, "accompaniment": 2 * RATE}).to_dicts()
    with pytest.raises(DamagedOutput) as caught:
        store.read_stems(rows)
    message = str(caught.value)
    assert message.startswith(f"{store.stems_table_path}: stem files at rates ")
    assert message.endswith("; materialise stems again") and "\n" not in message


def test_feature_tables_round_trip_one_file_per_kind(store):
    tables = {
        kind: pl.DataFrame(
            {"track_id": [TRACK_ID] * 3, "stem": ["vocals"] * 3, "frame": [0, 1, 2]},
            schema={"track_id": pl.String, "stem": pl.String, "frame": pl.Int32},
        ).with_columns(pl.lit(kind).alias("kind"))
        for kind in FEATURE_KINDS
    }
    store.write_feature_tables("vocals", tables)
    for kind in FEATURE_KINDS:
        assert store.has_feature_table(kind, "vocals")
        assert store.feature_table(kind, "vocals").equals(tables[kind])
    assert not store.has_feature_table("pitch", "accompaniment")


def test_the_evaluation_table_takes_the_keys_from_the_store(store):
    records = [
        {"stem": "vocals", "metric": "sdr", "value": 7.25, "reference": "/musdb/a/vocals.wav"},
        {"stem": "vocals", "metric": "melody_overall_accuracy", "value": 0.5, "reference": None},
    ]
    table = store.write_evaluation(records, "run-3")
    stored = pl.read_parquet(store.evaluation_path)
    assert stored.schema == pl.Schema(EVALUATION_SCHEMA) and stored.equals(table)
    assert stored["value"].to_list() == [7.25, 0.5]
    assert set(stored["track_id"]) == {TRACK_ID} and set(stored["run_id"]) == {"run-3"}
    # Nothing to compare with is still a table, with no rows, so the step counts as done.
    assert store.write_evaluation([], "run-4").is_empty()
    assert pl.read_parquet(store.evaluation_path).schema == pl.Schema(EVALUATION_SCHEMA)


def test_a_run_record_names_the_run_and_partition(store):
    before = datetime.now(UTC)
    path = store.write_run_record("stem_features", f"song-{TRACK_ID}", "run-5")
    row = pl.read_parquet(path).row(0, named=True)
    assert pl.read_parquet(path).schema == pl.Schema(RUN_SCHEMA)
    assert row["asset"] == "stem_features" and row["track_id"] == TRACK_ID
    assert (row["partition_key"], row["run_id"]) == (f"song-{TRACK_ID}", "run-5")
    assert before <= row["finished_at"] <= datetime.now(UTC)


def test_rewriting_replaces_the_file_atomically(store):
    store.write_track_record(ok_record(run_id="old"))
    folder = store.record_path.parent
    with open(store.record_path, "rb") as reader:  # a reader that opened the old file
        store.write_track_record(ok_record(run_id="new"))
        old_bytes = reader.read()
    # The old file was renamed over, not rewritten in place: the open reader still has all of
    # it, and the path now holds all of the new one; no temporary file is left beside it.
    old = pl.read_parquet(old_bytes)
    assert old["run_id"].to_list() == ["old"]
    assert store.track_record()["run_id"] == "new"
    assert sorted(p.name for p in folder.iterdir()) == [f"{TRACK_ID}.parquet"]


# -- missing, damaged and unusable outputs -----------------------------------------------------


def test_a_missing_track_record_says_what_to_materialise(store):
    with pytest.raises(MissingOutput) as caught:
        store.track_record()
    assert str(caught.value) == f"track {TRACK_ID} has no record; materialise track_audio first"
    assert caught.value.path == store.record_path
    assert store.recorded_error() is None


def test_a_truncated_track_record_is_named(store):
    store.write_track_record(ok_record())
    store.record_path.write_bytes(store.record_path.read_bytes()[:50])
    with pytest.raises(DamagedOutput) as caught:
        store.track_record()
    message = str(caught.value)
    assert message.startswith(f"{store.record_path} is unreadable (")
    assert message.endswith("; materialise track_audio again") and "\n" not in message
    assert store.recorded_error() is None


def test_a_bad_input_is_unusable_and_its_error_is_recorded(store):
    error = "/music/song.wav: not an audio file"
    store.write_track_record(
        {"track_id": TRACK_ID, "path": "/music/song.wav", "status": "error", "error": error}
    )
    with pytest.raises(UnusableTrack) as caught:
        store.track_record()
    assert str(caught.value) == f"track {TRACK_ID} (/music/song.wav) is unusable: {error}"
    assert store.recorded_error() == error


def test_missing_empty_and_rowless_stems_tables(store):
    with pytest.raises(MissingOutput) as caught:
        store.stem_rows()
    assert str(caught.value) == f"track {TRACK_ID} has no 2stems stems; materialise stems first"
    store.stems_table_path.parent.mkdir(parents=True)
    store.stems_table_path.write_bytes(b"")
    with pytest.raises(DamagedOutput) as caught:
        store.stem_rows()
    assert str(caught.value) == (
        f"{store.stems_table_path} is unreadable (empty, 0 bytes); materialise stems again"
    )
    pl.DataFrame(schema=STEM_SCHEMA).write_parquet(store.stems_table_path)
    with pytest.raises(DamagedOutput) as caught:
        store.stem_rows()
    assert str(caught.value) == (
        f"{store.stems_table_path} is unreadable (no rows); materialise stems again"
    )


def test_a_missing_or_truncated_feature_table_names_the_file(store):
    path = store.feature_path("summary", "vocals")
    with pytest.raises(DamagedFileError) as caught:
        store.feature_table("summary", "vocals")
    assert str(caught.value) == f"{path} is missing" and caught.value.path == path
    store.write_feature_tables(
        "vocals", {k: pl.DataFrame({"x": [1.0] * 50}) for k in FEATURE_KINDS}
    )
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(DamagedFileError) as caught:
        store.feature_table("summary", "vocals")
    assert str(caught.value).startswith(f"{path} is unreadable (")


# -- the input, through a real scan inventory --------------------------------------------------


def test_the_input_and_reference_stems_come_from_the_inventory(tmp_path):
    songs = tmp_path / "songs"
    mixture = tone(songs / "Artist - Song" / "mixture.wav", 220.0)
    refs = {
        name: tone(mixture.parent / f"{name}.wav", 300.0 + 50 * i)
        for i, name in enumerate(("vocals", "drums", "bass", "other"))
    }
    single = tone(songs / "single.wav", 660.0)
    layout = StorageLayout(tmp_path / "data")
    scanned = update_inventory(layout.inventory, [songs], exclude=[layout.root]).inventory
    ids = dict(zip(scanned["path"], scanned["track_id"], strict=True))

    mix_store = TrackStore(layout, ids[str(mixture)], "2stems")
    found = mix_store.track_file()
    assert found is not None and found.entry["path"] == str(mixture) and found.copies == 1
    assert mix_store.input_file({"path": str(mixture)}) == str(mixture)
    assert mix_store.references(str(mixture)) == {name: str(p) for name, p in refs.items()}
    assert TrackStore(layout, ids[str(single)], "2stems").references(str(single)) == {}

    # A reference deleted since is no longer offered; the others still are.
    refs["drums"].unlink()
    update_inventory(layout.inventory, [songs], exclude=[layout.root])
    assert set(mix_store.references(str(mixture))) == {"vocals", "bass", "other"}
    assert TrackStore(layout, "f" * 16, "2stems").track_file() is None


def test_a_name_that_is_not_utf8_resolves_to_its_exact_bytes(tmp_path):
    songs = tmp_path / "songs"
    raw = os.fsencode(songs) + b"/Caf\xe9.wav"
    os.rename(tone(songs / "cafe.wav", 440.0), raw)  # soundfile encodes names strictly
    layout = StorageLayout(tmp_path / "data")
    scanned = update_inventory(layout.inventory, [songs], exclude=[layout.root]).inventory
    (row,) = scanned.iter_rows(named=True)
    assert row["path"].endswith("/Caf\\xe9.wav")  # shown escaped
    store = TrackStore(layout, row["track_id"], "2stems")
    opened = store.input_file({"path": row["path"]})
    assert os.fsencode(opened) == raw
    assert store.track_file().source == opened


# -- the stems' data version -------------------------------------------------------------------


def test_the_stems_data_version_changes_with_each_input_and_is_stable():
    base = ("ab" * 32, "f" * 64, "spleeter:2stems@f3a90b39dd28/engine1")
    version = stems_data_version(*base)
    assert len(version) == 24 and int(version, 16) >= 0 and version == version.lower()
    assert stems_data_version(*base) == version
    for i in range(3):
        changed = list(base)
        changed[i] += "x"
        assert stems_data_version(*changed) != version
    # Data versions already recorded in Dagster instances must stay valid: the value for a
    # fixed input is pinned, so a change of the formula would show here before it made every
    # stored track's stems look stale.
    assert stems_data_version("a" * 64, "f" * 64, base[2]) == "a6f18b3ae602acaab8e80d30"
