"""Singing voice of the demo's vocal line: notes to a mono lead vocal and its exact f0.

A source-filter model, per note:

1. pitch contour (:mod:`demodata.contour`: portamento when slurred, else a fresh attack,
   vibrato, drift);
2. glottal source with jitter, shimmer and aspiration (:mod:`demodata.glottis`), whose
   per-sample f0 is returned as the annotation;
3. amplitude envelope: attack from 0 at the onset, release to 0 at the offset, so voicing
   (and the f0 annotation) runs exactly from onset to offset;
4. the syllable's vocal tract (:mod:`demodata.phonemes`): a voiced consonant crossfading
   into the vowel, a second vowel on diphthongs; unvoiced consonants (fricatives, plosive
   bursts with aspiration) in the gap before the onset, at most :data:`MAX_LEAD_S`; in a rest
   before a phrase, a breath (at most :data:`BREATH_LEAD_S` before the onset).

Then the whole line goes through a lead-vocal mix EQ (:mod:`demodata.equalizer`: high-pass
90 Hz, +3 dB presence at 3.5 kHz, +3 dB air shelf above 10 kHz). Each note is levelled like
a compressed lead vocal (RMS proportional to its velocity); the line is scaled so a velocity 1
note has RMS :data:`VOICE_RMS`, the scale of the other parts' renderers, which the song's mix
(:mod:`demodata.songs`) balances. The tract rings for at most :data:`RING_S` after an offset.
"""

from __future__ import annotations

import numpy as np

from demodata.contour import pitch_contour, slurred
from demodata.equalizer import lead_vocal_eq
from demodata.glottis import draw_singer, glottal_source
from demodata.phonemes import (
    ASPIRATION_LEVEL,
    BREATH,
    FRICATION,
    MIN_CONSONANT_GAP_S,
    VOICED_CONSONANTS,
    VOWELS,
    Syllable,
    consonant_lengths,
    draw_syllable,
    frication,
    tract_filter,
)
from demodata.score import Note

#: RMS of a velocity 1 note of the rendered line.
VOICE_RMS = 0.3
#: Ringing of the tract kept after a note's offset, s (a 60 Hz bandwidth decays 65 dB in it).
RING_S = 0.04
#: Length after which the response of the line's EQ is negligible, s.
LINE_FILTER_TAIL_S = 0.1
#: Longest sound before a note's onset: an unvoiced consonant, and a breath before it, s.
MAX_LEAD_S = 0.13
BREATH_LEAD_S = 0.75
#: Rest before a phrase that leaves time for a breath, s; and the breath's RMS per note RMS.
BREATH_REST_S = 0.6
BREATH_LEVEL = 0.05


def note_envelope(m: int, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Raised-cosine attack from 0 at the onset, release to 0 at the offset, a slight swell."""
    attack = round(rng.uniform(0.02, 0.05) * sr)
    release = round(rng.uniform(0.04, 0.08) * sr)
    if attack + release > 0.8 * m:
        attack, release = round(0.3 * m), round(0.5 * m)
    env = 1.0 + rng.uniform(-0.15, 0.15) * (np.arange(m) / m - 0.5)
    env[:attack] *= 0.5 - 0.5 * np.cos(np.pi * np.arange(attack) / max(attack, 1))
    env[m - release :] *= 0.5 + 0.5 * np.cos(np.pi * np.arange(1, release + 1) / release)
    return env


def _crossfade(n: int, at: int, length: int) -> np.ndarray:
    """0 before ``at``, 1 after ``at + length``, raised cosine between."""
    ramp = np.clip((np.arange(n) - at) / max(length, 1), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * ramp)


def _rms(x: np.ndarray) -> float:
    return max(float(np.sqrt(np.mean(x**2))), 1e-12)


def _tract_filters(sr: int, scale: float) -> dict[str, np.ndarray]:
    """One singer's tract filter per phoneme: vowels, voiced consonants and ``"breath"``."""
    phonemes = {**VOWELS, **VOICED_CONSONANTS, "breath": BREATH}
    return {name: tract_filter(formants, sr, scale) for name, formants in phonemes.items()}


def _through(fir: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``x`` filtered by ``fir``, same length (the ringing past the end is dropped)."""
    from scipy import signal

    return signal.oaconvolve(x, fir)[: x.size]


def _articulate(
    source: np.ndarray,
    syllable: Syllable,
    sr: int,
    rng: np.random.Generator,
    filters: dict[str, np.ndarray],
) -> np.ndarray:
    """``source`` through the syllable's tract; a time-varying tract as a crossfade of the
    phonemes' filter outputs (the source is zero-padded for the ringing)."""
    m = source.size - round(RING_S * sr)
    weights = []  # (phoneme, weight per sample)
    to_vowel = np.ones(source.size)
    if syllable.onset in VOICED_CONSONANTS:
        fade = _crossfade(source.size, round(rng.uniform(0.04, 0.07) * sr), round(0.03 * sr))
        gain = 0.5 if syllable.onset in ("m", "n") else 0.8
        weights.append((syllable.onset, gain * (1 - fade)))
        to_vowel = fade
    if syllable.glide_to is not None:
        glide = _crossfade(source.size, round(0.55 * m), round(min(0.12 * sr, 0.35 * m)))
        weights.append((syllable.glide_to, to_vowel * glide))
        to_vowel = to_vowel * (1 - glide)
    weights.append((syllable.vowel, to_vowel))
    return sum(w * _through(filters[phoneme], source) for phoneme, w in weights)


def _consonant(
    syllable: Syllable,
    room: int,
    sr: int,
    rng: np.random.Generator,
    filters: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """An unvoiced onset consonant ending at the note's onset, at most ``room`` samples long.

    Returns ``(frication, aspiration)``, both ``lead`` samples long and ending at the onset:
    the noise in its own band and the aspiration through the vowel's tract, both with their
    RMS relative to the note's (:data:`~demodata.phonemes.FRICATION`).
    """
    n_noise, n_aspiration = consonant_lengths(syllable.onset, rng, sr)
    shrink = min(1.0, room / (n_noise + n_aspiration))
    n_noise, n_aspiration = round(n_noise * shrink), round(n_aspiration * shrink)
    lead = n_noise + n_aspiration
    noise, aspiration = np.zeros(lead), np.zeros(lead)
    if n_noise:
        noise[:n_noise] = FRICATION[syllable.onset][2] * frication(syllable.onset, n_noise, sr, rng)
    if n_aspiration:
        hiss = rng.standard_normal(n_aspiration) * np.linspace(0.3, 1.0, n_aspiration)
        hiss = _through(filters[syllable.vowel], hiss)
        aspiration[n_noise:] = ASPIRATION_LEVEL * hiss / _rms(hiss)
    return noise, aspiration


def _filter_active(sos: np.ndarray, x: np.ndarray, tail: int) -> np.ndarray:
    """``sosfilt(sos, x)`` computed only on the stretches where ``x`` sounds, each with
    ``tail`` samples of ringing after it (the filter's response must have died out by then).

    Filtering the long silences between phrases is not only wasted: the decaying filter
    state reaches subnormal floats there, which are orders of magnitude slower to compute.
    """
    from scipy import signal

    out = np.zeros_like(x)
    active = np.flatnonzero(x)
    if active.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(active) > tail)
    for first, last in zip(active[np.r_[0, breaks + 1]], active[np.r_[breaks, -1]], strict=True):
        stop = min(last + 1 + tail, x.size)
        out[first:stop] = signal.sosfilt(sos, x[first:stop])
    return out


def _breath(n: int, rng: np.random.Generator, filters: dict[str, np.ndarray]) -> np.ndarray:
    """An inhalation: noise through wide neutral formants, rising and falling, RMS 1."""
    noise = _through(filters["breath"], rng.standard_normal(n))
    noise *= np.sin(np.pi * np.arange(n) / n) ** 2
    return noise / _rms(noise)


def render_vocals(
    notes: list[Note], sr: int, n_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Render a sung vocal line; returns ``(signal, f0_hz per sample)``.

    Parameters
    ----------
    notes : list of Note
        The vocal part, sorted by onset, not overlapping.
    sr : int
        Sampling rate in Hz.
    n_samples : int
        Length of the output.
    rng : numpy.random.Generator
        Source of every random choice (singer, syllables, contours, noise).

    Returns
    -------
    signal : numpy.ndarray
        Mono float64 line (timing and level: module docstring).
    f0 : numpy.ndarray
        The exact f0 of the source per sample in Hz, 0 where unvoiced.
    """

    line = np.zeros(n_samples)
    f0_track = np.zeros(n_samples)
    velocity = np.zeros(n_samples)
    if not notes:
        return line, f0_track
    singer = draw_singer(rng)
    filters = _tract_filters(sr, singer.tract_scale)
    previous: Note | None = None
    for note in notes:
        start, stop = round(note.onset_s * sr), min(round(note.offset_s * sr), n_samples)
        m, ring = stop - start, min(round(RING_S * sr), n_samples - stop)
        if m <= 0:
            continue
        syllable = draw_syllable(rng, note.offset_s - note.onset_s)
        voiced_onset = syllable.onset == "" or syllable.onset in VOICED_CONSONANTS
        glide_from = previous.midi_pitch if slurred(previous, note, voiced_onset) else None
        contour = pitch_contour(
            note, glide_from, m, sr, rng, singer.vibrato_hz, singer.vibrato_cents
        )
        source, f0 = glottal_source(contour, sr, rng, singer, note.velocity)
        source = np.concatenate([source * note_envelope(m, sr, rng), np.zeros(ring)])
        voiced = _articulate(source, syllable, sr, rng, filters)
        line[start : stop + ring] += note.velocity / _rms(voiced[:m]) * voiced
        f0_track[start:stop] = f0
        velocity[start:stop] = note.velocity

        rest = start - (round(previous.offset_s * sr) if previous else 0)
        room = min(rest - round(0.015 * sr), round(MAX_LEAD_S * sr))
        lead = 0
        unvoiced = syllable.onset in FRICATION or syllable.onset == "h"
        if unvoiced and room >= MIN_CONSONANT_GAP_S * sr:
            frication_part, aspiration = _consonant(syllable, room, sr, rng, filters)
            lead = frication_part.size
            line[start - lead : start] += note.velocity * (frication_part + aspiration)
        if rest - lead >= BREATH_REST_S * sr and rng.random() < 0.8:
            end = start - lead - round(rng.uniform(0.08, 0.15) * sr)
            begin = max(end - round(rng.uniform(0.25, 0.4) * sr), start - rest + round(0.1 * sr))
            if end - begin > 0.1 * sr:
                breath = _breath(end - begin, rng, filters)
                line[begin:end] += BREATH_LEVEL * note.velocity * breath
        previous = note

    line = _filter_active(lead_vocal_eq(sr), line, round(LINE_FILTER_TAIL_S * sr))
    sung = f0_track > 0
    line *= VOICE_RMS * _rms(velocity[sung]) / _rms(line[sung])
    return line, f0_track
