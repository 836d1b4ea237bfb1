"""Many seeded synthetic music tracks, made fast enough to benchmark a GPU host with.

Throughput on a GPU needs hours of audio (48 three-minute tracks are 2.4 h), more than
:func:`demodata.signals.synthetic_mix` makes quickly (several seconds per 3-minute track on one
core), and ``demodata`` needs polars, which the GPU hosts lack. So a few short blocks are
synthesised per sample rate (:func:`music_blocks`: a vibrato melody with harmonics, a decaying
bass, noise hits, each panned), and every track is a seeded sequence of those blocks with its
own gains (:func:`track`): music-like spectra and dynamics for the separation, distinct tracks
for the codecs, at the cost of a concatenation. :func:`write_tracks` writes them in parallel
(libsndfile releases the GIL while it encodes).
"""

from __future__ import annotations

import math
import os
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import soundfile as sf

BLOCK_SECONDS = 6.0
#: Blocks per sample rate at most (fewer when the tracks at that rate need fewer).
N_BLOCKS = 8


def music_blocks(rate: int, count: int = N_BLOCKS, seed: int = 0) -> list[np.ndarray]:
    """``count`` seeded stereo float32 blocks of :data:`BLOCK_SECONDS` at ``rate``."""
    rng = np.random.default_rng(seed)
    n = int(BLOCK_SECONDS * rate)
    t = np.arange(n) / rate
    blocks = []
    for _ in range(count):
        notes = 220 * 2 ** (rng.integers(0, 12, size=int(BLOCK_SECONDS * 2) + 1) / 12)
        f0 = notes[(t * 2).astype(int)] * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
        phase = 2 * np.pi * np.cumsum(f0) / rate
        melody = sum(np.sin(h * phase) / h for h in range(1, 7)) * (t % 2 < 1.6)
        bass = np.sin(2 * np.pi * rng.choice([41.2, 55.0, 61.7, 73.4]) * t) * np.exp(-3 * (t % 1))
        hits = rng.standard_normal(n) * np.exp(-(t % 0.25) / 0.01)
        parts = np.stack([0.3 * melody, 0.35 * bass, 0.12 * hits])
        pans = rng.uniform(0.2, 0.8, size=3)
        stereo = np.stack([pans @ parts, (1 - pans) @ parts], axis=1)
        blocks.append((0.9 * stereo / np.abs(stereo).max()).astype(np.float32))
    return blocks


def track(blocks: list[np.ndarray], seconds: float, rate: int, seed: int) -> np.ndarray:
    """A seeded track of ``seconds``: blocks in a random order with random gains."""
    rng = np.random.default_rng(seed)
    n = int(seconds * rate)
    count = -(-n // len(blocks[0]))
    order = rng.integers(0, len(blocks), size=count)
    gains = rng.uniform(0.4, 1.0, size=count).astype(np.float32)
    return np.concatenate([blocks[i] * g for i, g in zip(order, gains, strict=True)])[:n]


def write_tracks(
    folder: Path, count: int, seconds: float, rates: list[int], codec: str = "flac", seed: int = 0
) -> list[Path]:
    """Write ``count`` tracks (16-bit ``codec`` files, rates taken in turn) into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    per_rate = Counter(rates[i % len(rates)] for i in range(count))
    blocks = {
        rate: music_blocks(rate, min(N_BLOCKS, n * math.ceil(seconds / BLOCK_SECONDS)), seed)
        for rate, n in per_rate.items()
    }

    def one(i: int) -> Path:
        rate = rates[i % len(rates)]
        path = folder / f"track-{i:03d}.{codec}"
        sf.write(path, track(blocks[rate], seconds, rate, seed * 100_003 + i), rate, "PCM_16")
        return path

    with ThreadPoolExecutor(os.cpu_count() or 1) as pool:
        return list(pool.map(one, range(count)))
