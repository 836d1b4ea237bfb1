"""Numpy renderers for the instrumental parts of a demo song: bass, chords, drums.

Every renderer returns a mono float64 signal at full length (``n_samples``); pitched
renderers also return the exact fundamental frequency per sample in Hz (0 where the
part is silent or between notes), which is the f0 ground truth. Parts are never
normalised here: levels are set once for the whole song in :mod:`demodata.songs`, so
the stems keep summing to the mixture.

The sung vocal line has its own model (:mod:`demodata.voice`).

Voices
------
bass
    Sawtooth-like harmonics (up to 2.5 kHz, rolled off) with a plucked exponential decay.
other (chords)
    Piano-like additive tones, 8 partials with per-partial decay.
drums
    Kick (pitch-swept sine plus click), snare (band-passed noise plus 185 Hz body),
    closed hi-hat (high-passed noise); one seeded sample per instrument and song, reused
    for every hit with its velocity.
"""

from __future__ import annotations

import numpy as np

from demodata.score import DrumHit, Note


def midi_to_hz(midi_pitch: float | np.ndarray) -> float | np.ndarray:
    """Equal-tempered frequency in Hz of a MIDI pitch (A4 = 69 = 440 Hz)."""
    return 440.0 * 2.0 ** ((np.asarray(midi_pitch, dtype=float) - 69.0) / 12.0)


def _envelope(n: int, sr: int, attack_s: float, release_s: float, sustain_n: int) -> np.ndarray:
    env = np.ones(n)
    a = max(1, int(attack_s * sr))
    env[:a] = np.linspace(0.0, 1.0, a, endpoint=False)
    r = max(1, int(release_s * sr))
    env[sustain_n : sustain_n + r] *= np.linspace(1.0, 0.0, r)[: max(0, n - sustain_n)]
    env[sustain_n + r :] = 0.0
    return env


def _decaying_harmonics(
    phase: np.ndarray,
    t: np.ndarray,
    n_harmonics: int,
    base_rate: float,
    rate_per_harmonic: float,
    slope: float,
) -> np.ndarray:
    """Sum of ``exp(-t (base_rate + rate_per_harmonic k)) / k**slope * sin(k phase)``.

    Uses the Chebyshev recurrence ``sin(k x) = 2 cos(x) sin((k-1) x) - sin((k-2) x)`` and
    a running product for the decays, so each harmonic costs a few multiplications.
    """
    two_cos = 2.0 * np.cos(phase)
    sin_prev, sin_k = np.zeros_like(phase), np.sin(phase)
    step = np.exp(-t * rate_per_harmonic)
    decay = np.exp(-t * base_rate) * step
    tone = np.zeros_like(phase)
    for k in range(1, max(1, n_harmonics) + 1):
        tone += decay / k**slope * sin_k
        sin_prev, sin_k = sin_k, two_cos * sin_k - sin_prev
        decay = decay * step
    return tone


def render_bass(
    notes: list[Note], sr: int, n_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Render a plucked bass line; returns ``(signal, f0_hz per sample)``."""
    out = np.zeros(n_samples)
    f0_track = np.zeros(n_samples)
    release_s = 0.02
    for note in notes:
        start = round(note.onset_s * sr)
        sustain_n = round((note.offset_s - note.onset_s) * sr)
        n = min(sustain_n + int(release_s * sr), n_samples - start)
        if n <= 0:
            continue
        t = np.arange(n) / sr
        f0 = float(midi_to_hz(note.midi_pitch))
        phase = 2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi)
        tone = _decaying_harmonics(phase, t, int(2500 // f0), 1.0, 0.6, 1.3)
        env = _envelope(n, sr, 0.004, release_s, sustain_n) * np.exp(-t / 0.9)
        out[start : start + n] += note.velocity * env * tone
        end = start + min(sustain_n, n)
        f0_track[start:end] = f0
    return out, f0_track


def render_chords(
    notes: list[Note], sr: int, n_samples: int, rng: np.random.Generator
) -> np.ndarray:
    """Render piano-like chord tones."""
    out = np.zeros(n_samples)
    release_s = 0.05
    for note in notes:
        start = round(note.onset_s * sr)
        sustain_n = round((note.offset_s - note.onset_s) * sr)
        n = min(sustain_n + int(release_s * sr), n_samples - start)
        if n <= 0:
            continue
        t = np.arange(n) / sr
        f0 = float(midi_to_hz(note.midi_pitch))
        phase = 2 * np.pi * f0 * t + rng.uniform(0, 2 * np.pi)
        tone = _decaying_harmonics(phase, t, 8, 0.8, 0.5, 1.5)
        env = _envelope(n, sr, 0.003, release_s, sustain_n)
        out[start : start + n] += 0.35 * note.velocity * env * tone
    return out


def _drum_samples(sr: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    from scipy import signal  # ~1 s to import: only here, not on every `stemline` start

    t = np.arange(int(0.4 * sr)) / sr
    sweep = 45.0 + 75.0 * np.exp(-t / 0.04)
    kick = np.sin(2 * np.pi * np.cumsum(sweep) / sr) * np.exp(-t / 0.22)
    click = rng.standard_normal(t.size) * np.exp(-t / 0.002) * 0.3
    ts = t[: int(0.25 * sr)]
    band = signal.butter(2, (1200, 6000), btype="bandpass", fs=sr, output="sos")
    noise = signal.sosfilt(band, rng.standard_normal(ts.size))
    body = np.sin(2 * np.pi * 185 * ts) * np.exp(-ts / 0.07)
    snare = 1.6 * noise * np.exp(-ts / 0.09) + 0.6 * body
    th = t[: int(0.12 * sr)]
    high = signal.butter(4, 7000, btype="highpass", fs=sr, output="sos")
    hihat = 1.2 * signal.sosfilt(high, rng.standard_normal(th.size)) * np.exp(-th / 0.03)
    return {"kick": kick + click, "snare": snare, "hihat": hihat}


def render_drums(
    hits: list[DrumHit], sr: int, n_samples: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Render drum hits; returns one mono signal per instrument (kick, snare, hihat)."""
    samples = _drum_samples(sr, rng)
    out = {name: np.zeros(n_samples) for name in samples}
    for hit in hits:
        sample = samples[hit.instrument]
        start = round(hit.time_s * sr)
        n = min(sample.size, n_samples - start)
        if n > 0:
            out[hit.instrument][start : start + n] += hit.velocity * sample[:n]
    return out
