"""A generated corpus of bad and awkward audio inputs, with what each one must become.

``write_corpus(folder)`` writes the files and returns ``{relative path: expectation}``, where
an expectation is ``("ok", None)`` for awkward-but-valid input or ``("error", fragment)`` for
input that must be recorded as an error whose message contains ``fragment``.

Run it as a script to inspect the corpus: ``python -m tests.corpus OUT_DIR``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 44100


def _music(seconds: float, rate: int = RATE, channels: int = 2, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    voice = np.sin(2 * np.pi * 330 * t * (1 + 0.005 * np.sin(2 * np.pi * 5 * t)))
    bass = np.sin(2 * np.pi * 82.4 * t)
    hits = (rng.standard_normal(len(t)) * np.exp(-((t % 0.5) / 0.02))) * 0.3
    mono = 0.3 * voice + 0.3 * bass + 0.2 * hits
    return np.stack([mono * (1 - 0.05 * c) for c in range(channels)], axis=1).astype(np.float32)


def write_corpus(folder: Path) -> dict[str, tuple[str, str | None]]:
    """Write the corpus into ``folder``; return the expectation for every entry."""
    folder.mkdir(parents=True, exist_ok=True)
    expect: dict[str, tuple[str, str | None]] = {}

    def wav(name: str, data: np.ndarray, rate: int = RATE, **kw) -> Path:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        sf.write(path, data, rate, **kw)
        return path

    # -- invalid -------------------------------------------------------------------------
    (folder / "empty.wav").write_bytes(b"")
    expect["empty.wav"] = ("error", "empty file")
    (folder / "text.wav").write_text("these are words, not samples\n" * 40)
    expect["text.wav"] = ("error", "not a readable audio file")
    (folder / "random.flac").write_bytes(np.random.default_rng(1).bytes(20_000))
    expect["random.flac"] = ("error", "not a readable audio file")
    full = wav("full.wav", _music(2.0, seed=2)).read_bytes()
    (folder / "full.wav").unlink()
    (folder / "truncated.wav").write_bytes(full[: len(full) // 2])
    expect["truncated.wav"] = ("error", "truncated WAV")
    (folder / "header_only.wav").write_bytes(full[:44])
    expect["header_only.wav"] = ("error", "no audio samples")
    nan = _music(2.0, seed=3)
    nan[44100, 0] = np.nan
    wav("nan.wav", nan, subtype="FLOAT")
    expect["nan.wav"] = ("error", "NaN or infinite")
    (folder / "dangling.wav").symlink_to(folder / "nowhere.wav")
    expect["dangling.wav"] = ("error", "dangling link")
    (folder / "folder.wav").mkdir()
    expect["folder.wav"] = ("error", "is a directory")

    # -- awkward but valid ---------------------------------------------------------------
    wav("clip_50ms.wav", _music(0.05, seed=4))
    wav("silence.wav", np.zeros((3 * RATE, 2), np.float32))
    wav("mono_8k.wav", _music(2.0, rate=8000, channels=1, seed=5), rate=8000)
    wav("hires_96k_24bit.flac", _music(2.0, rate=96000, seed=6), rate=96000, subtype="PCM_24")
    wav("loud_float.wav", _music(2.0, seed=7) * 4.0, subtype="FLOAT")
    wav("six_channels.wav", _music(2.0, channels=6, seed=8))
    wav("vorbis.ogg", _music(2.0, seed=9), format="OGG", subtype="VORBIS")
    wav("mpeg.mp3", _music(2.0, seed=10), format="MP3", subtype="MPEG_LAYER_III")
    wav("Café #1 – ünï cöde.wav", _music(1.5, seed=11))
    wav("track..with..dots.wav", _music(1.5, seed=12))
    wav("tab\tand\x07bell.wav", _music(1.5, seed=13))
    wav("nested/deeper/still/track.flac", _music(1.5, seed=14))
    original = wav("original.wav", _music(1.5, seed=15))
    (folder / "same bytes, other name.wav").write_bytes(original.read_bytes())
    for name in (
        "clip_50ms.wav", "silence.wav", "mono_8k.wav", "hires_96k_24bit.flac",
        "loud_float.wav", "six_channels.wav", "vorbis.ogg", "mpeg.mp3",
        "Café #1 – ünï cöde.wav", "track..with..dots.wav", "tab\tand\x07bell.wav",
        "nested/deeper/still/track.flac", "original.wav", "same bytes, other name.wav",
    ):  # fmt: skip
        expect[name] = ("ok", None)
    return expect


if __name__ == "__main__":
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "bad-input-corpus")
    for name, (status, fragment) in write_corpus(out).items():
        print(f"{status:5} {name!r}" + (f"  ({fragment})" if fragment else ""))
