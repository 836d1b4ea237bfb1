"""Demo annotations agree with the rendered audio and with each other."""

from __future__ import annotations

import numpy as np
import pytest

from demodata import load_stems, write_demo_songs
from demodata.annotations import F0_HOP_S
from evaluation.annotations import load_annotations


@pytest.fixture(scope="module")
def song(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    (path,) = write_demo_songs(out, n_songs=1, seed=11, duration_s=6.0)
    audio, sr = load_stems(path)
    return load_annotations(path), audio, sr


def _midi(hz):
    return 69 + 12 * np.log2(hz / 440.0)


def test_tables_are_sorted_and_inside_the_song(song):
    ann, _, _ = song
    duration = ann.metadata["duration_s"]
    for part, notes in ann.notes.items():
        assert notes.height > 0, part
        on, off = notes["onset_s"].to_numpy(), notes["offset_s"].to_numpy()
        assert np.all(np.diff(on) >= 0) and np.all(on >= 0) and np.all(off > on)
        assert np.all(off <= duration)
    drums = ann.drum_onsets["time_s"].to_numpy()
    assert np.all(np.diff(drums) >= 0) and drums.max() < duration
    assert set(ann.drum_onsets["instrument"]) == {"kick", "snare", "hihat"}


def test_f0_grid_and_voicing_follow_the_notes(song):
    ann, _, _ = song
    for part in ("vocals", "bass"):
        f0 = ann.f0[part]
        times, hz = f0["time_s"].to_numpy(), f0["f0_hz"].to_numpy()
        np.testing.assert_allclose(np.diff(times), F0_HOP_S, atol=1e-9)
        notes = ann.notes[part]
        voiced = hz > 0
        inside = np.zeros_like(voiced)
        expected = np.zeros_like(hz)
        for on, off, pitch in notes.select("onset_s", "offset_s", "midi_pitch").iter_rows():
            mask = (times >= on + 0.005) & (times < off - 0.005)
            inside |= mask
            expected[mask] = pitch
        # every frame well inside a note is voiced, at the note's pitch within vibrato depth
        assert np.all(voiced[inside])
        assert np.max(np.abs(_midi(hz[inside]) - expected[inside])) < 0.41
        # no voiced frame outside a note (allowing one frame at each edge)
        assert voiced.sum() - inside.sum() <= 2 * notes.height


def test_bass_spectrum_peaks_at_annotated_pitch(song):
    ann, audio, sr = song
    bass = audio["bass"].mean(axis=1)
    for on, off, pitch in ann.notes["bass"].select("onset_s", "offset_s", "midi_pitch").rows():
        if off - on < 0.3:
            continue
        start = int((on + 0.05) * sr)
        seg = bass[start : start + 8192] * np.hanning(8192)
        spectrum = np.abs(np.fft.rfft(seg, 4 * 8192))
        peak_hz = np.argmax(spectrum) * sr / (4 * 8192)
        assert abs(_midi(peak_hz) - pitch) < 0.3


def test_vocals_sound_only_inside_notes(song):
    ann, audio, sr = song
    vocals = audio["vocals"].mean(axis=1)
    notes = ann.notes["vocals"]
    active = np.zeros(vocals.size, dtype=bool)
    for on, off in notes.select("onset_s", "offset_s").iter_rows():
        active[int(on * sr) : int((off + 0.04) * sr)] = True
    assert np.max(np.abs(vocals[~active])) == 0.0
    assert np.sqrt(np.mean(vocals[active] ** 2)) > 0.01


def test_drum_hits_are_audible_at_their_times(song):
    ann, audio, sr = song
    drums = audio["drums"].mean(axis=1)
    for t in ann.onset_times("drums"):
        i = round(t * sr)
        before = np.sqrt(np.mean(drums[max(0, i - 441) : i] ** 2)) if i > 0 else 0.0
        after = np.sqrt(np.mean(drums[i : i + 441] ** 2))
        assert after > 1.5 * before + 1e-4


def test_chord_notes_are_triads_sounding_in_the_other_stem(song):
    ann, audio, sr = song
    assert ann.part_stems["chords"] == "other"
    chords = ann.notes["chords"]
    other = audio["other"].mean(axis=1)
    for (on,), group in chords.group_by("onset_s", maintain_order=True):
        pitches = sorted(group["midi_pitch"].to_list())
        assert len(pitches) == 3, (on, pitches)  # every strike is a triad
        start = int((on + 0.02) * sr)
        seg = other[start : start + 8192] * np.hanning(8192)
        spectrum = np.abs(np.fft.rfft(seg, 4 * 8192))
        freqs = np.fft.rfftfreq(4 * 8192, 1 / sr)
        for pitch in pitches:
            near = np.abs(_midi(np.maximum(freqs, 1.0)) - pitch) < 0.3
            assert spectrum[near].max() > 0.3 * spectrum.max(), (on, pitch)
