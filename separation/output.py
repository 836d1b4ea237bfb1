"""Writing stems: codecs, and atomic, streamed writes that measure what they write.

Each stem is written to a hidden temporary file beside its destination and renamed into place
only when complete, so an interrupted or failed separation leaves no partial file
(a killed process leaves its ``.part`` file, which the next writer of that stem removes).
Where the stems go is :mod:`separation.stem_paths`'s part.

Codecs are what libsndfile writes: ``wav`` (16-bit PCM, as Spleeter), ``flac`` (16-bit),
``ogg`` (Vorbis) and ``mp3`` (MPEG layer III). For lossy codecs the bitrate (``"128k"``) is
mapped to libsndfile's compression level: for mp3 linearly between 320 kbps (level 0) and
32 kbps (level 1) at constant bitrate; for Vorbis the level is set from the same scale, which
libsndfile treats as variable-bitrate quality. Integer formats clip at full scale; the number
of clipped samples is reported. The RMS and peak level of every stem are measured as it is
written, in dBFS with digital silence at :data:`dbfs.FLOOR_DBFS` (-120 dBFS), the convention
of every level stemline stores.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from atomicfile import sweep_leftovers, temporary_name
from dbfs import level_dbfs

CODECS = {
    "wav": ("WAV", "PCM_16"),
    "flac": ("FLAC", "PCM_16"),
    "ogg": ("OGG", "VORBIS"),
    "mp3": ("MP3", "MPEG_LAYER_III"),
}
#: Codecs whose files hold the samples written (up to 16-bit rounding).
LOSSLESS_CODECS = frozenset({"wav", "flac"})
MP3_KBPS_RANGE = (32, 320)
PART_SUFFIX = ".part"


class OutputError(ValueError):
    """Output options are invalid or outputs would collide."""


def parse_bitrate(bitrate: str | None) -> int | None:
    """``"128k"`` → 128 (kbps); ``None`` stays ``None``."""
    if bitrate is None:
        return None
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kK])?\s*", str(bitrate))
    if not m:
        raise OutputError(f"bitrate {bitrate!r} is not like '128k'")
    value = float(m.group(1))
    kbps = value if m.group(2) else value / 1000
    if kbps <= 0:
        raise OutputError(f"bitrate {bitrate!r} must be positive")
    return round(kbps)


def _compression_level(kbps: int | None) -> float | None:
    if kbps is None:
        return None
    lo, hi = MP3_KBPS_RANGE
    return float(np.clip((hi - kbps) / (hi - lo), 0.0, 1.0))


@dataclass
class StemWriter:
    """Stream one stem to a temporary file and move it into place on :meth:`commit`."""

    path: Path
    sample_rate: int
    channels: int
    codec: str
    bitrate_kbps: int | None = None
    clipped: int = field(default=0, init=False)
    _energy: float = field(default=0.0, init=False, repr=False)
    _peak: float = field(default=0.0, init=False, repr=False)
    _count: int = field(default=0, init=False, repr=False)

    def __post_init__(self) -> None:
        fmt, subtype = CODECS[self.codec]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        sweep_leftovers(self.path, PART_SUFFIX)  # what a killed earlier writer left
        self._tmp = temporary_name(self.path, PART_SUFFIX)
        kwargs: dict = {}
        if self.codec in ("mp3", "ogg") and self.bitrate_kbps is not None:
            kwargs["compression_level"] = _compression_level(self.bitrate_kbps)
            if self.codec == "mp3":
                kwargs["bitrate_mode"] = "CONSTANT"
        self._integer = subtype.startswith("PCM")
        self._fh = sf.SoundFile(
            str(self._tmp), "w", self.sample_rate, self.channels, subtype, format=fmt, **kwargs
        )

    def write(self, block: np.ndarray) -> np.ndarray:
        """Append samples ``(n, channels)``; returns them as written (clipped where the format
        cannot hold values beyond full scale)."""
        if self._integer or self.codec in ("mp3", "ogg"):
            over = np.abs(block) > 1.0
            if over.any():
                self.clipped += int(over.sum())
                block = np.clip(block, -1.0, 1.0)
        if block.size:
            self._energy += float(np.sum(np.square(block, dtype=np.float64)))
            self._peak = max(self._peak, float(np.abs(block).max()))
            self._count += block.size
        self._fh.write(block)
        return block

    @property
    def levels_dbfs(self) -> tuple[float, float]:
        """RMS and peak level of what was written, in dBFS (floored at
        :data:`dbfs.FLOOR_DBFS`: -120 for digital silence)."""
        rms = np.sqrt(self._energy / max(self._count, 1))
        return level_dbfs(rms), level_dbfs(self._peak)

    def commit(self) -> Path:
        """Close and atomically rename the finished file into place."""
        self._fh.close()
        os.replace(self._tmp, self.path)
        return self.path

    def abort(self) -> None:
        """Close and delete the temporary file (nothing appears at the destination)."""
        try:
            self._fh.close()
        finally:
            self._tmp.unlink(missing_ok=True)
