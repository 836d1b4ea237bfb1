"""Note boundaries of a sung-like line: slurs, scoops, vibrato, consonants, dropouts.

Seeded synthetic voices with known notes: a glottal-like harmonic source whose f0 follows a
sung contour (vibrato, a portamento into a slurred note, a scoop into a fresh attack), and
frame-level contours for the rules that need no audio.
"""

from __future__ import annotations

import numpy as np

from features import extract_stem_features
from features.contour_notes import ContourRules, bridge_gaps, contour_spans, glide_start
from tests.features.synthetic_signals import SR, midi_hz

#: (onset s, offset s, MIDI) of the sung line: 60 slurs into 63 (a 70 ms portamento that
#: starts at 63's onset), a 0.15 s rest, then 62 with a scoop from 50 cents below.
SUNG = [(0.3, 1.0, 60), (1.0, 1.7, 63), (1.85, 2.6, 62)]
PORTAMENTO_S = 0.07
SCOOP_S = 0.05


def _sung_line(rng: np.random.Generator) -> np.ndarray:
    """The line of :data:`SUNG`: 12 harmonics falling 6 dB per octave, 5.5 Hz vibrato of
    +-45 cents after a 0.15 s delay, 10 ms fades at voice on/off, faint noise."""
    n = int(3.0 * SR)
    t = np.arange(n) / SR
    cents = np.full(n, np.nan)
    for i, (on, off, midi) in enumerate(SUNG):
        inside = (t >= on) & (t < off)
        local = t[inside] - on
        note = 100.0 * midi + 45.0 * np.clip((local - 0.15) / 0.1, 0, 1) * np.sin(
            2 * np.pi * 5.5 * local
        )
        if i == 1:  # slurred from the previous note
            glide = np.clip(local / PORTAMENTO_S, 0, 1)
            note += (1 - (3 * glide**2 - 2 * glide**3)) * 100.0 * (SUNG[0][2] - midi)
        if i == 2:  # fresh attack with a scoop
            note -= 50.0 * (1 - np.clip(local / SCOOP_S, 0, 1))
        cents[inside] = note
    voiced = ~np.isnan(cents)
    f0 = np.where(voiced, 440.0 * 2 ** ((np.nan_to_num(cents) / 100.0 - 69) / 12), 0.0)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    source = sum(np.sin(k * phase) / k for k in range(1, 13))
    envelope = np.convolve(voiced.astype(float), np.ones(441) / 441, mode="same")
    x = 0.3 * source * envelope + 1e-4 * rng.standard_normal(n)
    return x.astype(np.float32)


def test_slurred_and_scooped_sung_notes_are_found_at_their_onsets(rng):
    notes = extract_stem_features(_sung_line(rng), SR, "vocals").notes
    assert notes["midi_pitch"].to_list() == [m for _, _, m in SUNG]
    # the slurred note starts where its portamento starts, the scooped one with its scoop
    np.testing.assert_allclose(notes["onset_s"], [on for on, _, _ in SUNG], atol=0.03)
    np.testing.assert_allclose(notes["offset_s"], [off for _, off, _ in SUNG], atol=0.05)
    np.testing.assert_allclose(notes["f0_mean_hz"], [midi_hz(m) for _, _, m in SUNG], rtol=0.01)


RULES = ContourRules(split_semitones=0.6, min_frames=10, max_glide_frames=10, max_gap_frames=2)


def _contour(*pieces: tuple[int, float, float]) -> np.ndarray:
    """A MIDI contour of linear pieces ``(frames, from, to)``."""
    return np.concatenate([np.linspace(a, b, n, endpoint=False) for n, a, b in pieces])


def test_a_portamento_belongs_to_the_note_it_leads_into():
    midi = _contour((40, 60, 60), (7, 60, 63), (40, 63, 63))  # frame 40 still at 60
    spans = contour_spans(midi, np.ones(midi.size, bool), RULES)
    assert [(a, b) for a, b, _, _ in spans] == [(0, 41), (41, 87)]
    assert glide_start(midi, 0, 44, RULES.max_glide_frames) == 41


def test_without_glide_rule_the_note_starts_where_the_pitch_settles():
    midi = _contour((40, 60, 60), (7, 60, 63), (40, 63, 63))
    plucked = ContourRules(split_semitones=0.6, min_frames=10)
    spans = contour_spans(midi, np.ones(midi.size, bool), plucked)
    assert spans[1][0] > 41


def test_a_fall_at_the_end_stays_with_its_note():
    midi = _contour((50, 62, 62), (6, 62, 60))
    spans = contour_spans(midi, np.ones(midi.size, bool), RULES)
    assert [(a, b) for a, b, _, _ in spans] == [(0, 56)]


def test_a_scoop_opening_a_run_is_the_attack_and_the_core_gives_the_pitch():
    midi = _contour((5, 61.2, 62), (40, 62, 62))
    ((a, b, core_a, core_b),) = contour_spans(midi, np.ones(midi.size, bool), RULES)
    assert (a, b) == (0, 45)
    assert np.median(midi[core_a:core_b]) == 62


def test_low_confidence_frames_before_a_note_are_not_its_attack():
    # an unvoiced consonant the tracker gave the note's pitch with little confidence
    midi = _contour((50, 66, 66))
    confidence = np.r_[np.full(7, 0.15), np.full(43, 0.95)]
    voiced = np.ones(midi.size, bool)
    assert contour_spans(midi, voiced, RULES)[0][0] == 0
    trimmed = ContourRules(split_semitones=0.6, min_frames=10, attack_ratio=0.3)
    assert contour_spans(midi, voiced, trimmed, confidence)[0][0] == 7


def test_short_dropouts_are_bridged_and_long_gaps_are_not():
    voiced = np.r_[np.ones(20), np.zeros(2), np.ones(20), np.zeros(3), np.ones(20)].astype(bool)
    bridged = bridge_gaps(voiced, 2)
    assert bridged[:42].all() and not bridged[42:45].any()
    assert np.array_equal(bridge_gaps(voiced, 0), voiced)
