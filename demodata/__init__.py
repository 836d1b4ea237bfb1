"""Seeded multitrack demo songs with exact ground truth (MUSDB18 folder layout).

``write_demo_songs(out_dir)`` renders a handful of short songs (a sung lead vocal: glottal
source, vowel formants, consonants, breaths, vibrato and portamento; plucked bass, piano-like
chords, drums) with numpy and scipy and writes
``<song>/mixture.wav, vocals.wav, drums.wav, bass.wav, other.wav`` plus
``<song>/annotations/`` (notes of the vocals, bass and chords parts, f0 per 10 ms frame for
vocals and bass, drum onsets, and in ``song.json`` the stem each part sounds in: chords in
``other``; format and reader in :mod:`evaluation.annotations`). Stems sum exactly to the
mixture.

The names below are imported from :mod:`demodata.songs` on first use, so importing
:mod:`demodata.cli` (the ``stemline`` parser does) does not load the synthesis code.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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


def __getattr__(name: str) -> Any:
    """Import a public name from :mod:`demodata.songs` on first use (PEP 562)."""
    if name not in __all__:
        raise AttributeError(f"module 'demodata' has no attribute {name!r}")
    return getattr(importlib.import_module("demodata.songs"), name)
