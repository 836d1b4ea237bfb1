"""Sung pitch contour of one note: onset transition, vibrato, drift and end fall, in Hz.

The contour is in cents around the note's equal-tempered pitch:

- onset transition: a portamento from the previous note's pitch over 50-90 ms when the
  voice slurs into the note (:func:`slurred`: legato, and voicing carries on through a vowel
  or a voiced consonant, during which the pitch moves); otherwise a fresh attack: on six
  notes in ten a scoop from 20-70 cents below over 30-70 ms, else a start up to 15 cents off
  that settles as fast (transitions take at most 30 % of the note);
- vibrato: the singer's rate (5-6 Hz, wobbling by 4 %) and extent (peak deviation
  30-55 cents, varied 15 % per note), fading in over 0.15-0.3 s after a delay of 0.15-0.3 s,
  so short notes barely have any;
- drift: two slow sinusoids (0.5-1.2 Hz, 2-6 cents; 1.5-3 Hz, 1-3 cents);
- on three notes in ten a fall of 15-40 cents over the last 80 ms.

The contour is computed every :data:`CONTROL_STEP` samples and interpolated linearly; that
interpolated curve is the f0 sung. Between transitions it is centred on the note's pitch, so
the note's annotated MIDI pitch is the pitch heard. The per-cycle jitter is added by the
source (:mod:`demodata.glottis`).
"""

from __future__ import annotations

import numpy as np

from demodata.score import Note
from demodata.synthesis import midi_to_hz

#: Gap between two notes below which the second is sung legato (with portamento), s.
LEGATO_GAP_S = 0.2
#: Samples between the contour's control points; the f0 is linear in between (a 6 Hz
#: vibrato sampled at 2.8 kHz: the straight segments deviate from it by under 0.001 cent).
CONTROL_STEP = 16


def slurred(previous: Note | None, note: Note, voiced_onset: bool) -> bool:
    """Whether the voice glides from ``previous`` into ``note``: it follows closely (legato)
    and the syllable starts voiced (a vowel, or a consonant such as ``m``, ``n``, ``l``)."""
    return voiced_onset and previous is not None and note.onset_s - previous.offset_s < LEGATO_GAP_S


def smoothstep(x: np.ndarray) -> np.ndarray:
    """0 below 0, 1 above 1, ``3x^2 - 2x^3`` between: a transition with zero end slopes."""
    x = np.clip(x, 0.0, 1.0)
    return x * x * (3.0 - 2.0 * x)


def pitch_contour(
    note: Note,
    glide_from: int | None,
    m: int,
    sr: int,
    rng: np.random.Generator,
    vibrato_hz: float,
    vibrato_cents: float,
) -> np.ndarray:
    """Smooth f0 in Hz of ``m`` samples from the note's onset (see module docstring).

    Parameters
    ----------
    note : Note
        The note sung.
    glide_from : int or None
        MIDI pitch the voice slurs from (the previous note's), ``None`` for a fresh attack.
    m : int
        Samples from onset to offset.
    sr : int
        Sampling rate in Hz.
    rng : numpy.random.Generator
        Source of the note's random choices.
    vibrato_hz, vibrato_cents : float
        The singer's vibrato rate and extent (peak deviation).

    Returns
    -------
    numpy.ndarray
        f0 per sample in Hz.
    """
    grid = np.arange(0, m + CONTROL_STEP, CONTROL_STEP)  # samples of the control points
    t = grid / sr
    duration = m / sr
    if glide_from is not None:
        start_cents = 100.0 * (glide_from - note.midi_pitch)
        transition = rng.uniform(0.05, 0.09)
    elif rng.random() < 0.6:
        start_cents = -rng.uniform(20.0, 70.0)
        transition = rng.uniform(0.03, 0.07)
    else:
        start_cents = rng.uniform(-15.0, 15.0)
        transition = rng.uniform(0.03, 0.07)
    transition = min(transition, 0.3 * duration)
    cents = start_cents * (1.0 - smoothstep(t / transition))

    delay, rise = rng.uniform(0.15, 0.3), rng.uniform(0.15, 0.3)
    extent = vibrato_cents * rng.uniform(0.85, 1.15)
    wobble = 1.0 + 0.04 * np.sin(2 * np.pi * rng.uniform(0.3, 0.8) * t + rng.uniform(0, 6.3))
    rate = (vibrato_hz + rng.uniform(-0.25, 0.25)) * wobble
    vibrato_phase = 2 * np.pi * np.concatenate([[0.0], np.cumsum(rate[:-1])]) * CONTROL_STEP / sr
    cents += extent * smoothstep((t - delay) / rise) * np.sin(vibrato_phase)

    for low, high, amp_low, amp_high in ((0.5, 1.2, 2.0, 6.0), (1.5, 3.0, 1.0, 3.0)):
        hz, amp = rng.uniform(low, high), rng.uniform(amp_low, amp_high)
        cents += amp * np.sin(2 * np.pi * hz * t + rng.uniform(0, 2 * np.pi))

    if rng.random() < 0.3:
        fall_s = min(0.08, 0.3 * duration)
        cents -= rng.uniform(15.0, 40.0) * smoothstep((t - (duration - fall_s)) / fall_s)
    cents = np.interp(np.arange(m), grid, cents)
    return midi_to_hz(note.midi_pitch) * 2.0 ** (cents / 1200.0)
