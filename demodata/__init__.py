"""Seeded multitrack demo songs with exact ground truth (MUSDB18 folder layout).

``write_demo_songs(out_dir)`` renders a handful of short songs (sung-like vocal line with
vibrato and formants, plucked bass, piano-like chords, drums) with numpy alone and writes
``<song>/mixture.wav, vocals.wav, drums.wav, bass.wav, other.wav`` plus
``<song>/annotations/`` (notes of the vocals, bass and chords parts, f0 per 10 ms frame for
vocals and bass, drum onsets, and in ``song.json`` the stem each part sounds in: chords in
``other``; format and reader in :mod:`evaluation.annotations`). Stems sum exactly to the
mixture.
"""

from demodata.songs import (
    SAMPLE_RATE,
    STEM_NAMES,
    RenderedSong,
    load_stems,
    render_song,
    write_demo_songs,
)

__all__ = [
    "SAMPLE_RATE",
    "STEM_NAMES",
    "RenderedSong",
    "load_stems",
    "render_song",
    "write_demo_songs",
]
