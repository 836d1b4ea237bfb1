"""Separating an audio file into one file per stem, streamed: ``Separator.separate_to_file``.

The file is never held in memory whole. Blocks are read and checked
(:func:`~separation.audio.read_blocks`), mapped to stereo, resampled to the model rate and
separated chunk by chunk (:mod:`separation.stream`); each stem is resampled back to the
input's rate to exactly the input's length (:class:`~separation.audio.ExactResampler`) and
written. Stems go to temporary files that are renamed into place only when the whole file
succeeded, and are all removed otherwise, so a failure leaves nothing half-written.

For lossless codecs the mixture's residual (mixture minus the sum of the written stems,
:mod:`separation.residual`) is metered on the way: the mixture on the last pass over the input
(MWF reads it twice), the stems as they are written.

With ``host_threads`` (the default) the host work runs beside the model in three threads
(:mod:`separation.background`): the reader (decoding, metering the mixture, resampling to the
model rate) prepares the next chunk, the writer resamples and encodes the stems of the last
one, and the meter sums them and computes the residual's FFTs. Each stage keeps its order, so
the files and the residual are the same as with everything in the caller's thread.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .audio import (
    AudioError,
    ExactResampler,
    probe,
    read_blocks,
    resample_blocks,
    resampled_length,
    to_stereo,
)
from .background import consumer
from .output import LOSSLESS_CODECS, StemWriter, parse_bitrate
from .residual import SumResidual, residual_band_hz
from .stem_paths import DEFAULT_FILENAME_FORMAT, stem_paths
from .stream import Progress, iter_model_rate

if TYPE_CHECKING:
    from .batching import Membership
    from .model import SeparationModel


@dataclass
class SeparationResult:
    """What :meth:`Separator.separate_to_file` wrote."""

    source: Path
    stems: dict[str, Path]
    sample_rate: int
    n_samples: int
    seconds: float
    clipped_samples: dict[str, int] = field(default_factory=dict)
    levels_dbfs: dict[str, tuple[float, float]] = field(default_factory=dict)
    #: In-band energy of mixture minus the sum of the written stems, relative to the mixture,
    #: in dB (:mod:`separation.residual`); up to rounding for a sound separation. ``None`` for
    #: lossy codecs, whose files do not hold the samples written.
    mixture_residual_db: float | None = None

    @property
    def duration_s(self) -> float:
        """Duration of the separated audio in seconds."""
        return self.n_samples / self.sample_rate


def separate_to_file(
    model: SeparationModel,
    audio_descriptor: str | Path,
    destination: str | Path,
    *,
    mwf: bool,
    multichannel: str,
    filename_format: str = DEFAULT_FILENAME_FORMAT,
    codec: str = "wav",
    bitrate: str | None = "128k",
    offset: float = 0.0,
    duration: float | None = None,
    progress: Progress | None = None,
    membership: Membership | None = None,
    host_threads: bool = True,
) -> SeparationResult:
    """Separate an audio file and write one file per stem at the input's rate.

    The arguments are :meth:`Separator.separate_to_file`'s, plus the separator's ``model``,
    ``mwf`` and ``multichannel``, the track's batch ``membership``
    (:func:`separation.stream.iter_model_rate`) and ``host_threads``: read, write and meter in
    threads beside the model (``False``: all in the calling thread, for measuring the gain).

    Raises
    ------
    AudioError
        The input is unreadable, empty, truncated or holds NaN/Inf; nothing is written.
    """
    started = time.perf_counter()
    cfg = model.config
    instruments = cfg.instruments
    info = probe(Path(audio_descriptor))
    paths = stem_paths(info.path, Path(destination), instruments, filename_format, codec)
    kbps = parse_bitrate(bitrate)
    start = round(max(offset, 0.0) * info.sample_rate)
    if start >= info.frames:
        raise AudioError(
            f"{info.path}: offset {offset:.3f} s is past the end ({info.duration_s:.3f} s)"
        )
    frames = info.frames - start
    if duration is not None:
        if duration <= 0:
            raise AudioError(f"{info.path}: duration must be positive, got {duration}")
        frames = min(frames, round(duration * info.sample_rate))
    rate, model_rate = info.sample_rate, cfg.sample_rate
    n_model = resampled_length(frames, rate, model_rate)

    # Lossy files do not hold the samples written, so only lossless stems are metered.
    residual = SumResidual(rate, residual_band_hz(cfg, rate))
    metered = codec in LOSSLESS_CODECS
    passes = iter(range(2 if mwf else 1, 0, -1))  # the mixture is metered once

    def source() -> Iterator[np.ndarray]:
        stereo = (to_stereo(b, multichannel) for b in read_blocks(info, start, frames))
        if next(passes) == 1 and metered:  # the last pass: its outputs are written
            stereo = _metered(stereo, residual)
        return resample_blocks(stereo, rate, model_rate, 2, n_model)

    def write(pieces: list[np.ndarray]) -> None:
        pairs = zip(instruments, pieces, strict=True)
        written = [writers[inst].write(piece) for inst, piece in pairs]
        if metered:
            meter.put(written)

    def write_block(block: np.ndarray) -> None:
        pieces = [restorers[inst].push(block[i]) for i, inst in enumerate(instruments)]
        if any(len(piece) for piece in pieces):
            write(pieces)

    model.load()
    writers = {inst: StemWriter(paths[inst], rate, 2, codec, kbps) for inst in instruments}
    restorers = {inst: ExactResampler(model_rate, rate, 2, frames) for inst in instruments}
    try:
        meter = consumer(residual.add_stems, host_threads, name="stemline-residual-meter")
        writer = consumer(write_block, host_threads, name="stemline-stem-writer")
        try:
            blocks = iter_model_rate(
                model, source, n_model, mwf=mwf, progress=progress, membership=membership,
                read_ahead=host_threads,
            )  # fmt: skip
            with contextlib.closing(blocks):
                for _, block in blocks:
                    writer.put(block)
            writer.close()
            tails = [restorers[inst].finish() for inst in instruments]
            for same in zip(*tails, strict=True):
                write(list(same))
            meter.close()
        finally:  # on failure the threads stop; the error raised is the one that counts
            writer.close(raise_error=False)
            meter.close(raise_error=False)
        residual_db = residual.residual_db() if metered else None
        for inst in instruments:
            writers[inst].commit()
    except BaseException:
        for writer in writers.values():
            writer.abort()
        raise
    return SeparationResult(
        source=info.path,
        stems={inst: w.path for inst, w in writers.items()},
        sample_rate=rate,
        n_samples=frames,
        seconds=time.perf_counter() - started,
        clipped_samples={inst: w.clipped for inst, w in writers.items() if w.clipped},
        levels_dbfs={inst: w.levels_dbfs for inst, w in writers.items()},
        mixture_residual_db=residual_db,
    )


def _metered(blocks: Iterator[np.ndarray], residual: SumResidual) -> Iterator[np.ndarray]:
    """Pass mixture blocks through, feeding each to ``residual`` as it goes by."""
    for block in blocks:
        residual.add_mixture(block)
        yield block
