"""Demo annotations agree with the rendered audio and with each other."""

from __future__ import annotations

import numpy as np
import pytest

from demodata import load_stems, write_demo_songs
from demodata.annotations import F0_HOP_S
from demodata.voice import BREATH_LEAD_S, MAX_LEAD_S, RING_S
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


def _f0_inside_notes(ann, part, margin_s=0.005):
    """Annotation times, f0 and, per frame, the pitch of the note it is inside (0: none)."""
    f0 = ann.f0[part]
    times, hz = f0["time_s"].to_numpy(), f0["f0_hz"].to_numpy()
    expected = np.zeros_like(hz)
    for on, off, pitch in ann.notes[part].select("onset_s", "offset_s", "midi_pitch").iter_rows():
        expected[(times >= on + margin_s) & (times < off - margin_s)] = pitch
    return times, hz, expected


@pytest.mark.parametrize("part", ["vocals", "bass"])
def test_f0_grid_and_voicing_follow_the_notes(song, part):
    ann, _, _ = song
    times, hz, expected = _f0_inside_notes(ann, part)
    np.testing.assert_allclose(np.diff(times), F0_HOP_S, atol=1e-9)
    voiced, inside = hz > 0, expected > 0
    # every frame well inside a note is voiced, and no frame outside one (one frame per edge)
    assert np.all(voiced[inside])
    assert voiced.sum() - inside.sum() <= 2 * ann.notes[part].height


def test_bass_f0_is_the_note_pitch(song):
    ann, _, _ = song
    _, hz, expected = _f0_inside_notes(ann, "bass")
    inside = expected > 0
    assert np.max(np.abs(_midi(hz[inside]) - expected[inside])) < 0.01


def test_sung_f0_is_centred_on_the_note_pitch(song):
    """Per note the median sung pitch is the annotated one; past the onset transition
    (portamento or scoop, at most 90 ms) and before the end fall the f0 stays within the
    vibrato's extent (at most 63 cents) plus drift and jitter of the note's pitch."""
    ann, _, _ = song
    times, hz, _ = _f0_inside_notes(ann, "vocals")
    for on, off, pitch in (
        ann.notes["vocals"].select("onset_s", "offset_s", "midi_pitch").iter_rows()
    ):
        note = (times >= on) & (times < off)
        assert abs(np.median(_midi(hz[note])) - pitch) < 0.2
        settled = (times >= on + 0.1) & (times < off - 0.09)
        if settled.any():
            assert np.max(np.abs(_midi(hz[settled]) - pitch)) < 1.0


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


def test_vocals_sound_only_around_notes(song):
    """Silent except from a breath before a phrase to the tract's ringing after a note; between
    notes, before the consonant lead, at most a breath (far below the singing)."""
    ann, audio, sr = song
    vocals = audio["vocals"].mean(axis=1)
    notes = ann.notes["vocals"].select("onset_s", "offset_s").rows()
    around = np.zeros(vocals.size, dtype=bool)
    sung = np.zeros(vocals.size, dtype=bool)
    near = np.zeros(vocals.size, dtype=bool)
    after = RING_S + 0.02
    for on, off in notes:
        around[max(0, int((on - BREATH_LEAD_S) * sr)) : int((off + after) * sr)] = True
        near[max(0, int((on - MAX_LEAD_S) * sr)) : int((off + after) * sr)] = True
        sung[int(on * sr) : int(off * sr)] = True
    assert np.max(np.abs(vocals[~around])) == 0.0
    sung_rms = np.sqrt(np.mean(vocals[sung] ** 2))
    assert sung_rms > 0.01
    assert np.sqrt(np.mean(vocals[around & ~near] ** 2)) < 0.1 * sung_rms


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
