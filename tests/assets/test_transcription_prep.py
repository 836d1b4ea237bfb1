"""The ``transcription_prep`` step on a 4stems track: every stem gets its files, the track its
multi-track MIDI file (drums on channel 10), and the manifest lists them all.

The stems are seeded synthetic audio with known content (an A4 melody, a kick/snare/hi-hat
pattern, a silent bass, a C major triad) and their feature tables come from the real feature
extractor; no separation runs, so the step is exercised for a model whose weights the test
machine need not have.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import mido
import numpy as np
import polars as pl
import pytest
import soundfile as sf

from assets.records import TrackPartition
from assets.transcription_prep import transcription_prep
from catalogue.store import TrackStore
from features import extract_stem_features
from resources.settings import StemlineSettings
from tests.transcription.conftest import DRUM_PATTERN, SAMPLE_RATE, drum_pattern

TRACK_ID = "ab" * 8
STEMS = ("vocals", "drums", "bass", "other")
SECONDS = 2.2


def _tones(midis: tuple[int, ...], start_s: float, stop_s: float) -> np.ndarray:
    """Sines of the MIDI pitches between the two times, 0.2 peak each, stereo float32."""
    t = np.arange(int(SECONDS * SAMPLE_RATE)) / SAMPLE_RATE
    gate = (t >= start_s) & (t < stop_s)
    mono = sum(0.2 * np.sin(2 * np.pi * 440.0 * 2 ** ((m - 69) / 12) * t) for m in midis) * gate
    return np.stack([mono, mono], axis=1).astype(np.float32)


@pytest.fixture(scope="module")
def exported(tmp_path_factory) -> tuple[TrackStore, dict]:
    root = tmp_path_factory.mktemp("prep")
    settings = StemlineSettings(storage_root=str(root / "data"), audio_roots=[str(root)])
    store = TrackStore(settings.layout, TRACK_ID, "4stems")
    audio = {
        "vocals": _tones((69,), 0.3, 1.3),
        "drums": drum_pattern(SECONDS),
        "bass": np.zeros((int(SECONDS * SAMPLE_RATE), 2), np.float32),
        "other": _tones((60, 64, 67), 0.3, 1.5),
    }
    store.stems_dir.mkdir(parents=True)
    files = {}
    for stem in STEMS:
        files[stem] = store.stems_dir / f"{stem}.flac"
        sf.write(files[stem], audio[stem], SAMPLE_RATE, subtype="PCM_24")
        feats = extract_stem_features(audio[stem], SAMPLE_RATE, stem)
        store.write_feature_tables(stem, feats.tables(track_id=TRACK_ID, model="4stems"))
    store.write_stems_table(
        files,
        dict.fromkeys(STEMS, (-20.0, -6.0)),
        {},
        duration_s=SECONDS,
        sample_rate=SAMPLE_RATE,
        codec="flac",
    )
    part = TrackPartition("t-" + TRACK_ID, store, settings, "run-1", logging.getLogger("test"))
    result = transcription_prep(part)
    return store, result.metadata


def test_every_stem_and_the_multitrack_file_are_in_the_manifest(exported):
    store, metadata = exported
    manifest = pl.read_parquet(store.transcription_manifest)
    assert sorted(manifest["stem"]) == sorted(STEMS)
    assert metadata["stems"].value == list(STEMS)
    folder = store.transcription_manifest.parent
    assert set(manifest["multitrack_path"]) == {store.transcription_multitrack.name}
    for row in manifest.iter_rows(named=True):
        for kind in ("midi", "notes", "audio", "jams", "multitrack"):
            data = (folder / row[f"{kind}_path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == row[f"{kind}_sha256"], (row["stem"], kind)
        assert sf.info(folder / row["audio_path"]).samplerate == 16000
        assert row["duration_s"] == pytest.approx(SECONDS)
    counts = dict(zip(manifest["stem"], manifest["n_notes"], strict=True))
    assert counts["bass"] == 0 and counts["drums"] == len(DRUM_PATTERN)
    assert counts["vocals"] >= 1 and counts["other"] >= 3
    voices = {
        r["stem"]: (r["midi_channel"], r["percussion"]) for r in manifest.iter_rows(named=True)
    }
    assert voices == {
        "vocals": (0, False),
        "drums": (9, True),
        "bass": (2, False),
        "other": (3, False),
    }


def test_multitrack_file_holds_each_stem_on_its_channel(exported):
    store, _ = exported
    midi = mido.MidiFile(store.transcription_multitrack)
    assert midi.type == 1 and [t.name for t in midi.tracks[1:]] == list(STEMS)
    tracks = {t.name: t for t in midi.tracks[1:]}
    ons = {
        name: [m for m in mido.merge_tracks([t]) if m.type == "note_on" and m.velocity > 0]
        for name, t in tracks.items()
    }
    assert [m.note for m in ons["drums"]] == [key for _, key in DRUM_PATTERN]
    assert {m.channel for m in ons["drums"]} == {9}
    assert not ons["bass"]  # silent stem: a valid, empty track
    assert {m.channel for m in ons["other"]} == {3} and {m.channel for m in ons["vocals"]} == {0}
    assert 69 in {m.note for m in ons["vocals"]}
    # the triad's three notes start together (the first chord of the "other" track)
    now, starts = 0, {}
    for message in tracks["other"]:
        now += message.time
        if message.type == "note_on" and message.velocity > 0:
            starts.setdefault(message.note, now)
    assert {60, 64, 67} <= set(starts)
    chord = [starts[n] / 960 for n in (60, 64, 67)]
    assert max(chord) - min(chord) <= 0.03 and chord[0] == pytest.approx(0.3, abs=0.05)


def test_files_agree_with_the_feature_tables(exported):
    store, _ = exported
    folder = store.transcription_dir
    other = pl.read_parquet(folder / "other_notes.parquet")
    features = store.feature_table("notes", "other")
    assert other["midi_pitch"].to_list() == features["midi_pitch"].to_list()
    doc = json.loads(Path(folder / "vocals.jams").read_text())
    spaces = {a["namespace"]: a for a in doc["annotations"]}
    assert set(spaces) == {"note_midi", "pitch_contour", "onset"}
    voiced = [o for o in spaces["pitch_contour"]["data"] if o["value"]["voiced"]]
    assert voiced and np.median([o["value"]["frequency"] for o in voiced]) == pytest.approx(
        440.0, rel=0.01
    )
