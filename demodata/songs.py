"""Render seeded demo songs and write them in the MUSDB18 folder layout.

Each song folder holds ``mixture.wav``, ``vocals.wav``, ``drums.wav``, ``bass.wav`` and
``other.wav`` (44.1 kHz, stereo, 16-bit PCM) plus ``annotations/`` (format:
:mod:`evaluation.annotations`): the notes of every pitched part (``vocals``, ``bass``, and
``chords``, the piano-like triads that make up the ``other`` stem), the f0 of the vocal and bass
lines and the drum hits, and in ``song.json`` which stem each part sounds in
(:data:`PART_STEMS`).

Mixing: every part is rendered at a fixed relative level and panned with constant
gains; then one gain for the whole song brings the mixture peak to -1 dBFS (parts are
never normalised separately). Each stem is rounded to the 16-bit grid and the mixture
is the exact integer sum of the rounded stems, so after reading the WAV files as float
``vocals + drums + bass + other == mixture`` holds exactly (float32 arithmetic on
16-bit values is exact). Instrumental songs have an all-zero ``vocals.wav``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from demodata.annotations import drums_frame, f0_frame, notes_frame, write_annotations
from demodata.defaults import DEFAULT_N_SONGS
from demodata.score import Score, compose
from demodata.synthesis import render_bass, render_chords, render_drums
from demodata.voice import render_vocals

SAMPLE_RATE = 44100
STEM_NAMES = ("vocals", "drums", "bass", "other")
#: Annotated parts and the stem each sounds in (``song.json``'s ``part_stems``).
PART_STEMS = {"vocals": "vocals", "bass": "bass", "chords": "other", "drums": "drums"}
#: Parts with notes, and parts with an f0 contour, in the annotations.
NOTE_PARTS = ("vocals", "bass", "chords")
F0_PARTS = ("vocals", "bass")
DURATION_RANGE_S = (20.0, 30.0)
PEAK_DBFS = -1.0
FADE_OUT_S = 0.05
INSTRUMENTAL_EVERY = 3  # songs 2, 5, 8, ... (0-based) have no vocals
VOICE_STREAM = 1  # third seed word of the voice's random stream, beside ``[seed, index]``

# Relative level in dB and stereo pan in [-1 (left), 1 (right)] per part.
LEVELS_DB = {"vocals": 0.0, "bass": -2.0, "other": 2.0, "drums": -4.0}
PANS = {"vocals": 0.0, "bass": 0.0, "other": -0.3, "kick": 0.0, "snare": 0.1, "hihat": 0.45}


@dataclass
class RenderedSong:
    """One song in memory: int16 stems ``(n_samples, 2)``, the score and the f0 tracks."""

    name: str
    score: Score
    stems: dict[str, np.ndarray]
    mixture: np.ndarray
    f0_per_sample: dict[str, np.ndarray]
    seed: int


def _pan(mono: np.ndarray, pan: float) -> np.ndarray:
    angle = (pan + 1.0) * np.pi / 4.0
    return np.stack([mono * np.cos(angle), mono * np.sin(angle)], axis=1)


def song_has_vocals(index: int) -> bool:
    """Whether song ``index`` of a demo set has a vocal line (every third one has not)."""
    return index % INSTRUMENTAL_EVERY != INSTRUMENTAL_EVERY - 1


def render_song(index: int, seed: int = 0, duration_s: float | None = None) -> RenderedSong:
    """Render song ``index`` of the demo set with ``seed``, in memory.

    Parameters
    ----------
    index : int
        Position of the song in the set; with ``seed`` it fixes every random choice, so a
        song does not change when the set gets bigger.
    seed : int
        Seed of the whole set.
    duration_s : float or None
        Length in seconds; ``None`` draws it from ``DURATION_RANGE_S``.

    Returns
    -------
    RenderedSong
    """
    rng = np.random.default_rng([seed, index])
    if duration_s is None:
        duration_s = float(np.round(rng.uniform(*DURATION_RANGE_S), 1))
    if duration_s < 2.0:
        raise ValueError(f"duration_s must be at least 2 s, got {duration_s}")
    n = round(duration_s * SAMPLE_RATE)
    score = compose(rng, duration_s, song_has_vocals(index))
    # the voice draws from its own stream, so the accompaniment does not depend on it
    voice_rng = np.random.default_rng([seed, index, VOICE_STREAM])
    vocals, f0_vocals = render_vocals(score.parts["vocals"], SAMPLE_RATE, n, voice_rng)
    bass, f0_bass = render_bass(score.parts["bass"], SAMPLE_RATE, n, rng)
    chords = render_chords(score.parts["chords"], SAMPLE_RATE, n, rng)
    drum_parts = render_drums(score.drums, SAMPLE_RATE, n, rng)

    level = {p: 10 ** ((db + rng.uniform(-1.5, 1.5)) / 20) for p, db in LEVELS_DB.items()}
    stems = {
        "vocals": _pan(level["vocals"] * vocals, PANS["vocals"]),
        "bass": _pan(level["bass"] * bass, PANS["bass"]),
        "other": _pan(level["other"] * chords, PANS["other"]),
        "drums": sum(_pan(level["drums"] * sig, PANS[name]) for name, sig in drum_parts.items()),
    }
    fade = np.ones(n)
    k = int(FADE_OUT_S * SAMPLE_RATE)
    fade[-k:] = np.linspace(1.0, 0.0, k)
    float_mix = sum(stems.values()) * fade[:, None]
    gain = 10 ** (PEAK_DBFS / 20) / np.max(np.abs(float_mix))
    quantised = {
        name: np.round(stems[name] * fade[:, None] * gain * 32768.0).astype(np.int32)
        for name in STEM_NAMES
    }
    mixture = sum(quantised.values())
    if max(np.max(np.abs(a)) for a in (mixture, *quantised.values())) > 32767:
        raise RuntimeError("16-bit overflow while mixing; lower PEAK_DBFS")
    return RenderedSong(
        name=f"demo_{index:02d}",
        score=score,
        stems={k_: v.astype(np.int16) for k_, v in quantised.items()},
        mixture=mixture.astype(np.int16),
        f0_per_sample={"vocals": f0_vocals, "bass": f0_bass},
        seed=seed,
    )


def write_song(song: RenderedSong, out_dir: Path) -> Path:
    """Write one rendered song (audio + annotations) to ``out_dir/<song.name>/``."""
    song_dir = Path(out_dir) / song.name
    song_dir.mkdir(parents=True, exist_ok=True)
    sf.write(song_dir / "mixture.wav", song.mixture, SAMPLE_RATE, subtype="PCM_16")
    for name, data in song.stems.items():
        sf.write(song_dir / f"{name}.wav", data, SAMPLE_RATE, subtype="PCM_16")
    score = song.score
    metadata = {
        "title": song.name,
        "seed": song.seed,
        "sample_rate": SAMPLE_RATE,
        "duration_s": score.duration_s,
        "tempo_bpm": score.tempo_bpm,
        "key": score.key_name,
        "has_vocals": score.has_vocals,
        "parts": list(STEM_NAMES),
        "part_stems": PART_STEMS,
    }
    write_annotations(
        song_dir,
        metadata,
        notes={p: notes_frame(score.parts[p]) for p in NOTE_PARTS},
        f0={p: f0_frame(song.f0_per_sample[p], SAMPLE_RATE) for p in F0_PARTS},
        drum_onsets=drums_frame(score.drums),
    )
    return song_dir


def write_demo_songs(
    out_dir: Path, n_songs: int = DEFAULT_N_SONGS, seed: int = 0, duration_s: float | None = None
) -> list[Path]:
    """Render and write a seeded set of demo songs with ground-truth annotations.

    Parameters
    ----------
    out_dir : pathlib.Path
        Folder to write into (created if missing); one sub-folder per song.
    n_songs : int
        Number of songs; every third song (index 2, 5, ...) is instrumental.
    seed : int
        Seed of the set; the same seed always writes byte-identical files.
    duration_s : float or None
        Length of every song in seconds; ``None`` gives 20-30 s per song.

    Returns
    -------
    list of pathlib.Path
        The song folders, in index order.

    Examples
    --------
    >>> paths = write_demo_songs(Path("demo"), n_songs=2, duration_s=5.0)  # doctest: +SKIP
    >>> sorted(p.name for p in paths[0].iterdir())  # doctest: +SKIP
    ['annotations', 'bass.wav', 'drums.wav', 'mixture.wav', 'other.wav', 'vocals.wav']
    """
    if n_songs < 1:
        raise ValueError(f"n_songs must be at least 1, got {n_songs}")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return [write_song(render_song(i, seed, duration_s), out_dir) for i in range(n_songs)]


def load_stems(song_dir: Path) -> tuple[dict[str, np.ndarray], int]:
    """Read a song's ``mixture`` and stems as float32 ``(n_samples, 2)`` arrays."""
    song_dir = Path(song_dir)
    audio = {}
    sample_rate = SAMPLE_RATE
    for name in ("mixture", *STEM_NAMES):
        audio[name], sample_rate = sf.read(
            song_dir / f"{name}.wav", dtype="float32", always_2d=True
        )
    return audio, sample_rate
