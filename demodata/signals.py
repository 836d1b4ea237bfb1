"""Seeded synthetic signals for separation and reporting tests and benchmarks.

Not a song with ground truth (see :mod:`demodata.songs`): a vibrato tone line, a decaying bass
tone and noise hits, fast to make at any length, the same for the same seed.
"""

from __future__ import annotations

import numpy as np

RATE = 44100


def synthetic_mix(seconds: float, rate: int = RATE, seed: int = 0, channels: int = 2):
    """A seeded test mix: a vibrato tone line, a bass line and noise hits, float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    t = np.arange(n) / rate
    f0 = 220 * 2 ** (rng.integers(0, 12, size=int(seconds * 2) + 1)[(t * 2).astype(int)] / 12)
    phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))) / rate
    voice = sum(np.sin(h * phase) / h for h in range(1, 8)) * (t % 2 < 1.5)
    bass = np.sin(2 * np.pi * 55 * t) * np.exp(-2 * (t % 1))
    hits = np.zeros(n)
    for start in range(0, n, rate // 4):
        length = min(rate // 20, n - start)
        hits[start : start + length] = rng.standard_normal(length) * np.exp(
            -np.arange(length) / (0.01 * rate)
        )
    mono = 0.3 * voice + 0.3 * bass + 0.2 * hits
    out = np.stack([mono * (1 - 0.1 * c) for c in range(channels)], axis=1)
    return (0.8 * out / np.abs(out).max()).astype(np.float32)


def four_stems(seconds: float, rate: int = RATE) -> dict[str, np.ndarray]:
    """Seeded 4stems-shaped float32 stems: a 440 Hz tone (vocals), stereo noise (drums), a
    55 Hz tone (bass) and silence (other), for plots and their benchmark."""
    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(1)
    return {
        "vocals": (0.4 * np.sin(2 * np.pi * 440 * t)).astype(np.float32),
        "drums": (0.1 * rng.standard_normal((t.size, 2))).astype(np.float32),
        "bass": (0.5 * np.sin(2 * np.pi * 55 * t)).astype(np.float32),
        "other": np.zeros(t.size, np.float32),
    }
