"""The whole bundle of one stem, from real feature tables: files, counts, silent stem."""

from __future__ import annotations

import json

import mido
import numpy as np
import polars as pl
import pytest
import soundfile as sf

from atomicfile import TEMP_SUFFIX
from features import extract_stem_features
from tests.transcription.conftest import DRUM_PATTERN, drum_pattern
from transcription import bundle_file_names, write_transcription_bundle

SR = 44100


def write(tmp_path, audio, feats, stem="vocals", **kw):
    return write_transcription_bundle(
        tmp_path / "4stems" / "ab12",
        track_id="ab12",
        stem=stem,
        model="4stems",
        audio=audio,
        sample_rate=SR,
        notes=feats.notes,
        pitch=feats.pitch,
        onsets=feats.onsets,
        **kw,
    )


def two_note_melody() -> np.ndarray:
    """A4 for 0.5 s, a gap, C5 for 0.5 s; stereo float32 with seeded noise."""
    t = np.arange(int(0.5 * SR)) / SR
    rng = np.random.default_rng(11)
    mono = np.concatenate(
        [
            0.4 * np.sin(2 * np.pi * 440.0 * t),
            np.zeros(SR // 4),
            0.4 * np.sin(2 * np.pi * 523.25 * t),
            np.zeros(SR // 4),
        ]
    )
    return (mono[:, None] + 1e-4 * rng.standard_normal((mono.size, 2))).astype(np.float32)


def test_bundle_from_real_features(tmp_path):
    audio = two_note_melody()
    feats = extract_stem_features(audio, SR, "vocals")
    bundle = write(tmp_path, audio, feats)
    names = bundle_file_names("vocals", 16000)
    assert names["audio"] == "vocals_16000hz_mono.flac"
    assert sorted(p.name for p in bundle.out_dir.iterdir()) == sorted(names.values())
    assert not any(p.name.endswith(TEMP_SUFFIX) for p in tmp_path.rglob("*"))

    assert bundle.n_notes == feats.notes.height == 2
    assert (bundle.midi_min, bundle.midi_max) == (69, 72)
    assert bundle.duration_s == pytest.approx(audio.shape[0] / SR)
    assert bundle.n_voiced_frames == int(feats.pitch["voiced"].sum())
    assert sf.info(bundle.audio_path).frames == bundle.n_samples == round(bundle.duration_s * 16000)

    midi_notes = [m.note for m in mido.MidiFile(bundle.midi_path) if m.type == "note_on"]
    assert midi_notes == [69, 72]
    table = pl.read_parquet(bundle.notes_path)
    assert table["midi_pitch"].to_list() == [69, 72]
    doc = json.loads(bundle.jams_path.read_text())
    assert doc["file_metadata"]["duration"] == pytest.approx(bundle.duration_s)


def test_silent_stem_gets_valid_empty_files(tmp_path):
    audio = np.zeros((SR, 2), np.float32)
    feats = extract_stem_features(audio, SR, "vocals")
    assert feats.is_silent
    bundle = write(tmp_path, audio, feats)
    assert (bundle.n_notes, bundle.n_voiced_frames, bundle.n_onsets) == (0, 0, 0)
    assert bundle.midi_min is None and bundle.midi_max is None
    midi = mido.MidiFile(bundle.midi_path)
    assert not [m for m in midi if m.type == "note_on"]
    assert midi.tracks[0][-1].type == "end_of_track"
    doc = json.loads(bundle.jams_path.read_text())
    assert [len(a["data"]) for a in doc["annotations"]] == [0, 0, 0]
    assert doc["file_metadata"]["duration"] == 1.0
    assert pl.read_parquet(bundle.notes_path).height == 0
    silent, rate = sf.read(bundle.audio_path)
    assert rate == 16000 and silent.size == 16000 and not silent.any()


def test_rewrite_replaces_files_without_leftovers(tmp_path):
    audio = two_note_melody()
    feats = extract_stem_features(audio, SR, "vocals")
    first = write(tmp_path, audio, feats)
    second = write(tmp_path, audio, feats, target_rate=22050)
    assert second.audio_path.name == "vocals_22050hz_mono.flac"
    assert first.midi_path == second.midi_path
    assert len(list(second.out_dir.iterdir())) == 5  # both FLAC rates, one of each other
    assert not any(p.name.startswith(".") for p in second.out_dir.iterdir())


@pytest.mark.parametrize("bad", ["", "../x", "a/b", ".hidden"])
def test_unsafe_names_rejected(tmp_path, bad):
    feats = extract_stem_features(np.zeros(SR // 2, np.float32), SR, "vocals")
    with pytest.raises(ValueError, match="file-name-safe"):
        write(tmp_path, np.zeros(SR // 2, np.float32), feats, stem=bad)


def test_bad_tables_rejected_before_any_file(tmp_path):
    audio = two_note_melody()
    feats = extract_stem_features(audio, SR, "vocals")
    with pytest.raises(ValueError, match="pitch table lacks"):
        write_transcription_bundle(
            tmp_path / "out",
            track_id="ab12",
            stem="vocals",
            model="4stems",
            audio=audio,
            sample_rate=SR,
            notes=feats.notes,
            pitch=feats.pitch.drop("voiced"),
            onsets=feats.onsets,
        )
    assert not any((tmp_path / "out").iterdir())


def test_drums_bundle_holds_percussion_hits_on_channel_ten(tmp_path):
    audio = drum_pattern()
    feats = extract_stem_features(audio, SR, "drums")
    assert feats.notes.height == 0  # the drums profile makes no pitched notes
    bundle = write(tmp_path, audio, feats, stem="drums")
    keys = [key for _, key in DRUM_PATTERN]
    assert (bundle.percussion, bundle.midi_channel, bundle.midi_program) == (True, 9, 0)
    assert bundle.n_notes == len(keys) and (bundle.midi_min, bundle.midi_max) == (36, 42)
    assert pl.read_parquet(bundle.notes_path)["midi_pitch"].to_list() == keys
    midi = mido.MidiFile(bundle.midi_path)
    hits = [m for m in midi if m.type == "note_on" and m.velocity > 0]
    assert [m.note for m in hits] == keys and {m.channel for m in hits} == {9}
    doc = json.loads(bundle.jams_path.read_text())
    notes_ann = next(a for a in doc["annotations"] if a["namespace"] == "note_midi")
    assert [o["value"] for o in notes_ann["data"]] == keys
    assert "percussion" in notes_ann["annotation_metadata"]["annotation_rules"]
    assert doc["sandbox"]["stemline"]["midi_channel"] == 9


def test_polyphonic_stem_bundle_keeps_the_chord(tmp_path, triad, pitch, onsets):
    audio = np.zeros((int(2.0 * SR), 2), np.float32)
    bundle = write_transcription_bundle(
        tmp_path,
        track_id="ab12",
        stem="accompaniment",
        model="2stems",
        audio=audio,
        sample_rate=SR,
        notes=triad,
        pitch=pitch,
        onsets=onsets,
    )
    assert (bundle.percussion, bundle.midi_channel, bundle.midi_program) == (False, 1, 0)
    onsets_at_chord = [
        m.note for m in mido.MidiFile(bundle.midi_path).tracks[0] if m.type == "note_on"
    ][:3]
    assert sorted(onsets_at_chord) == [60, 64, 67]
    doc = json.loads(bundle.jams_path.read_text())
    notes_ann = next(a for a in doc["annotations"] if a["namespace"] == "note_midi")
    assert [o["value"] for o in notes_ann["data"]][:3] == [60, 64, 67]
    assert "basic_pitch" in notes_ann["annotation_metadata"]["annotation_rules"]
