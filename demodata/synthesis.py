"""Numpy renderers for the parts of a demo song: sung-like vocal, bass, chords, drums.

Every renderer returns a mono float64 signal at full length (``n_samples``); pitched
renderers also return the exact fundamental frequency per sample in Hz (0 where the
part is silent or between notes), which is the f0 ground truth. Parts are never
normalised here: levels are set once for the whole song in :mod:`demodata.songs`, so
the stems keep summing to the mixture.

Voices
------
vocals
    Harmonic source (spectral slope -12 dB/octave) shaped by three vowel formants that
    follow each harmonic as the pitch moves, 5-6 Hz vibrato that fades in after 150 ms,
    35 ms attack and 30 ms release.
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

# Vowel formants (Hz) and bandwidths (Hz) for a mid-range voice.
VOWELS = {
    "a": ((800, 80), (1150, 90), (2900, 120)),
    "e": ((400, 60), (1600, 80), (2700, 120)),
    "i": ((270, 60), (2300, 100), (3000, 120)),
    "o": ((450, 70), (800, 80), (2830, 100)),
    "u": ((325, 50), (700, 60), (2530, 170)),
}
FORMANT_GAINS = (1.0, 0.5, 0.25)


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


def render_vocals(
    notes: list[Note], sr: int, n_samples: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Render a sung-like line; returns ``(signal, f0_hz per sample)``."""
    out = np.zeros(n_samples)
    f0_track = np.zeros(n_samples)
    release_s = 0.03
    for note in notes:
        start = round(note.onset_s * sr)
        sustain_n = round((note.offset_s - note.onset_s) * sr)
        n = min(sustain_n + int(release_s * sr), n_samples - start)
        if n <= 0:
            continue
        t = np.arange(n) / sr
        rate = rng.uniform(5.0, 6.0)
        depth_cents = rng.uniform(20.0, 40.0)
        fade_in = np.clip((t - 0.15) / 0.2, 0.0, 1.0)
        cents = depth_cents * fade_in * np.sin(2 * np.pi * rate * t)
        f0 = midi_to_hz(note.midi_pitch) * 2.0 ** (cents / 1200.0)
        phase = 2 * np.pi * np.cumsum(f0) / sr + rng.uniform(0, 2 * np.pi)
        formants = VOWELS[str(rng.choice(list(VOWELS)))]
        voice = np.zeros(n)
        for k in range(1, int(5000 // f0.max()) + 1):
            fk = k * f0
            gain = sum(
                g / np.sqrt(1.0 + ((fk - fc) / (bw / 2)) ** 2)
                for (fc, bw), g in zip(formants, FORMANT_GAINS, strict=True)
            )
            voice += (gain + 0.02) / k**2 * np.sin(k * phase)
        env = _envelope(n, sr, 0.035, release_s, sustain_n)
        out[start : start + n] += note.velocity * env * voice
        end = start + min(sustain_n, n)
        f0_track[start:end] = f0[: end - start]
    return out, f0_track


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
