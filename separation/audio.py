"""Audio input for separation: validated reading, channel mapping and resampling, streamed.

Channel rule (the model is stereo): mono is duplicated to both sides (as Spleeter does); stereo
is used as it is; more than two channels keep the first two (Spleeter's rule, which are front
left/right in WAV, FLAC and AIFF channel order) unless ``multichannel="downmix"``, which folds
5.1 with the ITU-R BS.775 coefficients and any other layout by averaging even-numbered channels
to the left and odd-numbered channels to the right.

Any sample rate from :data:`MIN_SAMPLE_RATE` (4 kHz) up is accepted; audio is resampled to the
model rate with soxr (high quality) and the stems back to the input rate, so outputs have the
input's length and rate. Lower rates are refused: no real recording has them, and a damaged or
hostile header claiming, say, 1 Hz turns a few kilobytes into hours of audio to separate.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
import soxr

BLOCK_FRAMES = 1 << 16
#: Lowest sample rate accepted, in Hz (telephone audio is 8 kHz).
MIN_SAMPLE_RATE = 4000
MULTICHANNEL_RULES = ("first-two", "downmix")


class AudioError(ValueError):
    """An input cannot be separated; the message names the file and the problem."""


@dataclass(frozen=True)
class AudioInfo:
    """What a file holds, read from its header."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0


def probe(path: Path) -> AudioInfo:
    """Read and sanity-check a file's header; raise :class:`AudioError` on anything unusable."""
    path = Path(path)
    if path.is_dir():
        raise AudioError(f"{path}: is a directory, not an audio file")
    if not path.exists():
        raise AudioError(f"{path}: no such file (or a dangling link)")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: empty file (0 bytes)")
    try:
        info = sf.info(os.fsencode(path))  # bytes: soundfile cannot encode non-UTF-8 names
    except (sf.LibsndfileError, RuntimeError, OSError) as exc:
        raise AudioError(f"{path}: not a readable audio file ({_reason(exc)})") from exc
    if info.frames <= 0:
        raise AudioError(f"{path}: contains no audio samples (zero length)")
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioError(f"{path}: invalid header (rate {info.samplerate}, {info.channels} ch)")
    if info.samplerate < MIN_SAMPLE_RATE:
        raise AudioError(
            f"{path}: sample rate {info.samplerate} Hz is below the minimum of {MIN_SAMPLE_RATE} Hz"
        )
    if info.format in ("WAV", "WAVEX"):
        _check_wav_complete(path)
    return AudioInfo(path, info.samplerate, info.channels, info.frames, info.format, info.subtype)


def _check_wav_complete(path: Path) -> None:
    """libsndfile reads a cut-off WAV silently; compare its data chunk with the file size."""
    size = path.stat().st_size
    with path.open("rb") as fh:
        if fh.read(4) != b"RIFF":
            return
        fh.seek(12)
        while True:
            head = fh.read(8)
            if len(head) < 8:
                return
            chunk, length = head[:4], int.from_bytes(head[4:], "little")
            if chunk == b"data":
                available = size - fh.tell()
                if length != 0xFFFFFFFF and length > available:
                    raise AudioError(
                        f"{path}: truncated WAV: the header declares {length} bytes of audio, "
                        f"the file holds {available}"
                    )
                return
            fh.seek(length + (length & 1), 1)


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text.split(": ", 1)[-1] if text else type(exc).__name__


def read_blocks(
    info: AudioInfo, start: int = 0, frames: int | None = None, block: int = BLOCK_FRAMES
) -> Iterator[np.ndarray]:
    """Yield float32 ``(n, channels)`` blocks of ``frames`` samples from ``start``.

    Raises :class:`AudioError` if the file turns out truncated (fewer samples than its header
    promised) or holds NaN/Inf, naming the file and the sample position.
    """
    total = info.frames - start if frames is None else frames
    got = 0
    try:
        with sf.SoundFile(os.fsencode(info.path)) as fh:
            if start:
                fh.seek(start)
            while got < total:
                data = fh.read(min(block, total - got), dtype="float32", always_2d=True)
                if len(data) == 0:
                    break
                if not np.isfinite(data).all():
                    bad = int(np.argwhere(~np.isfinite(data))[0][0]) + start + got
                    raise AudioError(
                        f"{info.path}: contains NaN or infinite samples "
                        f"(first at sample {bad}, {bad / info.sample_rate:.3f} s)"
                    )
                got += len(data)
                yield data
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(
            f"{info.path}: decoding failed at sample {start + got}: {_reason(exc)}"
        ) from exc
    if got < total:
        raise AudioError(
            f"{info.path}: truncated: header promises {info.frames} samples, "
            f"only {start + got} could be read"
        )


def to_stereo(block: np.ndarray, rule: str = "first-two") -> np.ndarray:
    """Map ``(n, channels)`` audio to the model's two channels (see the module docstring)."""
    channels = block.shape[1]
    if channels == 2:
        return block
    if channels == 1:
        return np.repeat(block, 2, axis=1)
    if rule == "first-two":
        return block[:, :2]
    if rule != "downmix":
        raise ValueError(f"unknown multichannel rule {rule!r}; use one of {MULTICHANNEL_RULES}")
    if channels == 6:  # L R C LFE Ls Rs
        c = 1 / math.sqrt(2)
        left = block[:, 0] + c * block[:, 2] + c * block[:, 4]
        right = block[:, 1] + c * block[:, 2] + c * block[:, 5]
        return np.stack([left, right], axis=1).astype(np.float32)
    return np.stack([block[:, 0::2].mean(axis=1), block[:, 1::2].mean(axis=1)], axis=1).astype(
        np.float32
    )


def resampled_length(n: int, rate_in: int, rate_out: int) -> int:
    """Length of ``n`` samples at ``rate_in`` after resampling to ``rate_out``."""
    return n if rate_in == rate_out else round(n * rate_out / rate_in)


class ExactResampler:
    """Push-style resampling of one stream to exactly ``n_out`` samples.

    Blocks go in with :meth:`push` and come out resampled (soxr, high quality); :meth:`finish`
    flushes the resampler's delay line and zero-fills the end. Together the outputs hold exactly
    ``n_out`` samples: anything past ``n_out`` is cut, so a stream resampled to the model rate
    and back has its original length again. :func:`resample_blocks` (reading) and the stem
    writer of :mod:`separation.file_separation` (writing) both stream through it.

    Parameters
    ----------
    rate_in, rate_out : int
        Sample rates in Hz; when equal, blocks only pass through the length rule.
    channels : int
        Channels of every block, ``(n, channels)``.
    n_out : int
        Total samples to give out.
    """

    def __init__(self, rate_in: int, rate_out: int, channels: int, n_out: int) -> None:
        self.channels = channels
        self.n_out = n_out
        self.sent = 0
        self._stream = (
            None
            if rate_in == rate_out
            else soxr.ResampleStream(rate_in, rate_out, channels, dtype="float32", quality="HQ")
        )

    @property
    def done(self) -> bool:
        """Whether all ``n_out`` samples have been given out (later input is dropped)."""
        return self.sent >= self.n_out

    def push(self, block: np.ndarray) -> np.ndarray:
        """Resample ``block``; returns the samples ready now (possibly none)."""
        if self._stream is not None:
            block = self._stream.resample_chunk(np.ascontiguousarray(block, dtype=np.float32))
        return self._cut(block)

    def finish(self) -> list[np.ndarray]:
        """The rest of the stream: the resampler's tail, then zeros up to ``n_out``."""
        tail = []
        if self._stream is not None:
            last = self._stream.resample_chunk(np.zeros((0, self.channels), np.float32), last=True)
            tail.append(self._cut(last))
        if self.sent < self.n_out:
            tail.append(self._cut(np.zeros((self.n_out - self.sent, self.channels), np.float32)))
        return [block for block in tail if len(block)]

    def _cut(self, block: np.ndarray) -> np.ndarray:
        """``block`` as float32 ``(n, channels)``, cut to the samples still owed."""
        block = np.asarray(block, dtype=np.float32).reshape(-1, self.channels)
        block = block[: max(0, self.n_out - self.sent)]
        self.sent += len(block)
        return block


def resample_blocks(
    blocks: Iterator[np.ndarray], rate_in: int, rate_out: int, channels: int, n_out: int
) -> Iterator[np.ndarray]:
    """Stream-resample blocks, yielding exactly ``n_out`` samples in total.

    Input is read only until ``n_out`` samples are out (see :class:`ExactResampler`).
    """
    resampler = ExactResampler(rate_in, rate_out, channels, n_out)
    for block in blocks:
        out = resampler.push(block)
        if len(out):
            yield out
        if resampler.done:
            return
    yield from resampler.finish()


def validate_waveform(waveform: np.ndarray, name: str = "waveform") -> np.ndarray:
    """Check an in-memory signal and return it as float32 ``(n, channels)``."""
    arr = np.asarray(waveform)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2:
        raise AudioError(f"{name}: expected shape (samples, channels), got {arr.shape}")
    if arr.shape[0] == 0:
        raise AudioError(f"{name}: contains no audio samples (zero length)")
    if arr.shape[1] == 0 or arr.shape[1] > 64:
        raise AudioError(f"{name}: {arr.shape[1]} channels; expected 1 to 64 (samples first)")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        bad = int(np.argwhere(~np.isfinite(arr))[0][0])
        raise AudioError(f"{name}: contains NaN or infinite samples (first at sample {bad})")
    return arr
