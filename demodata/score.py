"""Seeded composition of a demo song: key, tempo, chords, melody, bass line and drum hits.

A score is pure data (no audio): every note is a :class:`Note` with times in seconds
and a MIDI pitch, every drum hit a :class:`DrumHit`. The renderers in
:mod:`demodata.synthesis` and :mod:`demodata.voice` turn it into audio, and
:mod:`demodata.annotations` writes it as the ground truth, so the annotations are exact by
construction.

Conventions
-----------
- Times are in seconds from the start of the song, ``onset_s < offset_s``.
- Pitches are integer MIDI note numbers (69 = A4 = 440 Hz, equal temperament).
- Velocities are in ``(0, 1]``, a linear amplitude factor.
- Bars have four beats; the song is a four-chord loop repeated for the whole duration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

PITCH_CLASS_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)

# Four-chord loops as (scale degree of the root, 0-based) per bar.
MAJOR_LOOPS = ((0, 4, 5, 3), (0, 5, 3, 4), (0, 3, 4, 4), (0, 3, 0, 4))
MINOR_LOOPS = ((0, 5, 2, 4), (0, 3, 6, 4), (0, 6, 5, 4), (0, 3, 0, 4))

VOCAL_RANGE = (55, 74)  # G3..D5
BASS_RANGE = (33, 52)  # A1..E3
CHORD_RANGE = (52, 76)  # E3..E5

# Melody rhythms per bar, in beats; negative values are rests.
MELODY_RHYTHMS = (
    (1.0, 1.0, 2.0),
    (2.0, 1.0, 1.0),
    (1.5, 0.5, 1.0, -1.0),
    (-1.0, 1.0, 1.0, 1.0),
    (1.0, 0.5, 0.5, 2.0),
    (3.0, -1.0),
)
# Bass rhythms per bar, in beats (all sounding).
BASS_RHYTHMS = ((1.0, 1.0, 1.0, 1.0), (1.5, 0.5, 2.0), (2.0, 1.0, 1.0), (0.5, 0.5, 1.0, 2.0))


@dataclass(frozen=True)
class Note:
    """One note event: onset and offset in seconds, MIDI pitch, linear velocity."""

    onset_s: float
    offset_s: float
    midi_pitch: int
    velocity: float


@dataclass(frozen=True)
class DrumHit:
    """One drum hit: time in seconds, instrument name, linear velocity."""

    time_s: float
    instrument: str
    velocity: float


@dataclass
class Score:
    """A whole demo song as data."""

    tonic: int
    mode: str
    tempo_bpm: float
    duration_s: float
    has_vocals: bool
    parts: dict[str, list[Note]] = field(default_factory=dict)
    drums: list[DrumHit] = field(default_factory=list)

    @property
    def key_name(self) -> str:
        """Key as ``"<tonic> <mode>"``, e.g. ``"A minor"`` (mir_eval.key format)."""
        return f"{PITCH_CLASS_NAMES[self.tonic]} {self.mode}"


def _scale_pitches(tonic: int, mode: str, low: int, high: int) -> np.ndarray:
    scale = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    pcs = {(tonic + s) % 12 for s in scale}
    return np.array([p for p in range(low, high + 1) if p % 12 in pcs])


def _chord_pitch_classes(tonic: int, mode: str, degree: int) -> tuple[int, int, int]:
    """Diatonic triad (root, third, fifth) pitch classes on a scale degree.

    In minor the dominant (degree 4) is major, with the raised leading tone of the
    harmonic minor scale, as in most minor-key music.
    """
    scale = MAJOR_SCALE if mode == "major" else MINOR_SCALE
    root, third, fifth = ((tonic + scale[(degree + k) % 7]) % 12 for k in (0, 2, 4))
    if mode == "minor" and degree == 4:
        third = (third + 1) % 12
    return root, third, fifth


def _nearest_with_class(pitch_class: int, target: float, low: int, high: int) -> int:
    candidates = [p for p in range(low, high + 1) if p % 12 == pitch_class]
    return min(candidates, key=lambda p: abs(p - target))


def compose(
    rng: np.random.Generator, duration_s: float, has_vocals: bool, end_margin_s: float = 0.25
) -> Score:
    """Compose a seeded song of ``duration_s`` seconds.

    Parameters
    ----------
    rng : numpy.random.Generator
        Source of every random choice; the same generator state gives the same score.
    duration_s : float
        Song length in seconds. Notes end at least ``end_margin_s`` before it.
    has_vocals : bool
        Whether a vocal line is composed (instrumental songs get an empty vocal part).
    end_margin_s : float
        Silence kept at the end for the fade-out.

    Returns
    -------
    Score
        Parts ``vocals``, ``bass``, ``chords`` (rendered into the ``other`` stem) and the drum
        hits.
    """
    mode = str(rng.choice(["major", "minor"]))
    tonic = int(rng.integers(0, 12))
    tempo = float(rng.integers(84, 128))
    beat = 60.0 / tempo
    bar = 4 * beat
    loops = MAJOR_LOOPS if mode == "major" else MINOR_LOOPS
    loop = loops[int(rng.integers(0, len(loops)))]
    n_bars = int(np.ceil(duration_s / bar))
    end = duration_s - end_margin_s
    score = Score(tonic, mode, tempo, duration_s, has_vocals)

    chords: list[Note] = []
    bass: list[Note] = []
    vocals: list[Note] = []
    drums: list[DrumHit] = []
    vocal_scale = _scale_pitches(tonic, mode, *VOCAL_RANGE)
    melody_index = int(np.argmin(np.abs(vocal_scale - 64)))
    chord_center = 62.0
    for b in range(n_bars):
        t0 = b * bar
        pcs = _chord_pitch_classes(tonic, mode, loop[b % len(loop)])
        # Chords: a voice-led triad, struck on beats 1 and 3 (or once per bar).
        voicing = sorted(_nearest_with_class(pc, chord_center, *CHORD_RANGE) for pc in pcs)
        strikes = ((0.0, 2.0), (2.0, 2.0)) if rng.random() < 0.6 else ((0.0, 4.0),)
        for start, length in strikes:
            vel = float(rng.uniform(0.6, 0.9))
            for p in voicing:
                chords.append(Note(t0 + start * beat, t0 + (start + length) * beat - 0.05, p, vel))
        # Bass: chord root (sometimes fifth or octave) in a rhythm pattern.
        root = _nearest_with_class(pcs[0], 40, *BASS_RANGE)
        pos = 0.0
        for length in BASS_RHYTHMS[int(rng.integers(0, len(BASS_RHYTHMS)))]:
            r = rng.random()
            pitch = root if pos == 0.0 or r < 0.6 else root + (7 if r < 0.85 else 12)
            pitch = int(min(pitch, BASS_RANGE[1]))
            on = t0 + pos * beat
            bass.append(Note(on, on + length * beat * 0.85, pitch, float(rng.uniform(0.7, 1.0))))
            pos += length
        # Vocals: from bar 2 on (an instrumental intro), a scale random walk that lands
        # on chord tones at bar starts.
        if has_vocals and b >= 1:
            pos = 0.0
            for length in MELODY_RHYTHMS[int(rng.integers(0, len(MELODY_RHYTHMS)))]:
                if length < 0:
                    pos += -length
                    continue
                if pos == 0.0:
                    # land on a chord tone; on the tonic chord, on the tonic itself
                    tone = pcs[0] if loop[b % len(loop)] == 0 else pcs[int(rng.integers(0, 3))]
                    target = _nearest_with_class(tone, vocal_scale[melody_index], *VOCAL_RANGE)
                    melody_index = int(np.argmin(np.abs(vocal_scale - target)))
                else:
                    step = int(rng.choice([-2, -1, -1, 1, 1, 2]))
                    melody_index = int(np.clip(melody_index + step, 0, len(vocal_scale) - 1))
                on = t0 + pos * beat
                off = on + length * beat - 0.08
                vocals.append(
                    Note(on, off, int(vocal_scale[melody_index]), float(rng.uniform(0.75, 1.0)))
                )
                pos += length
        # Drums: kick on 1 and 3 (plus a pickup), snare on 2 and 4, closed hi-hat in 8ths.
        for k in range(8):
            t = t0 + k * 0.5 * beat
            drums.append(DrumHit(t, "hihat", 0.5 if k % 2 else 0.7))
        for k in (0, 2):
            drums.append(DrumHit(t0 + k * beat, "kick", 1.0))
        if rng.random() < 0.4:
            drums.append(DrumHit(t0 + 2.5 * beat, "kick", 0.8))
        for k in (1, 3):
            drums.append(DrumHit(t0 + k * beat, "snare", float(rng.uniform(0.8, 1.0))))

    def clip(notes: list[Note]) -> list[Note]:
        kept = [n for n in notes if n.onset_s < end - 0.1]
        return [Note(n.onset_s, min(n.offset_s, end), n.midi_pitch, n.velocity) for n in kept]

    score.parts = {"vocals": clip(vocals), "bass": clip(bass), "chords": clip(chords)}
    score.drums = sorted((h for h in drums if h.time_s < end - 0.1), key=lambda h: h.time_s)
    return score
