"""The public separation API: ``Separator(...).separate(...)`` and ``separate_to_file(...)``.

A :class:`Separator` loads its model once (lazily, on first use) and reuses it for every call,
unlike Spleeter, which rebuilds its estimator per call. Audio of any length is processed in
chunks of whole U-Net segments (:mod:`separation.chunking`), so memory stays flat in duration
and the result equals processing the whole file at once; nothing is truncated.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import soxr

from .audio import (
    AudioError,
    probe,
    read_blocks,
    resample_blocks,
    resampled_length,
    to_stereo,
    validate_waveform,
)
from .background import BackgroundConsumer
from .checkpoint import assign_weights, load_converted
from .chunking import ChunkPlan, SampleWindow, stitch_chunks
from .configs import ModelConfig, load_config
from .device import DEVICES, Device, resolve_device
from .engine import ChunkProcessor
from .output import (
    DEFAULT_FILENAME_FORMAT,
    LOSSLESS_CODECS,
    StemWriter,
    parse_bitrate,
    stem_paths,
)
from .provider import ModelFiles, ModelProvider
from .residual import SumResidual, residual_band_hz
from .wiener import WienerStatistics, wiener_filter

if TYPE_CHECKING:
    import keras

log = logging.getLogger(__name__)

BlockSource = Callable[[], Iterator[np.ndarray]]
Progress = Callable[[int, int], None]


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


class Separator:
    """Split music into stems with a Spleeter model.

    Parameters
    ----------
    params_descriptor : str
        ``"spleeter:2stems"`` (default), ``4stems``, ``5stems``, a ``-16kHz`` variant, or the
        path of a JSON configuration in Spleeter's format.
    mwf : bool
        Multichannel Wiener filtering of the U-Net estimates (Spleeter's ``--mwf``); slower.
    overlap : bool
        Also run the U-Net on a grid shifted by half a segment and cross-fade, removing the
        seams Spleeter leaves every 11.9 s. About twice the U-Net cost. Off by default, which
        reproduces Spleeter.
    chunk_segments : int, optional
        Segments (11.9 s each) per processing chunk: memory versus per-call overhead only;
        default 1 on a CPU, 16 on a GPU.
    multichannel : str
        ``"first-two"`` (Spleeter's rule) or ``"downmix"`` for inputs with more than two
        channels; see :mod:`separation.audio`.
    provider : ModelProvider, optional
        Where checkpoints come from; default :class:`ModelProvider` (``MODEL_PATH``).
    device : str
        ``"auto"`` (a GPU if TensorFlow sees one, else the CPU), ``"cpu"`` or ``"gpu"`` (an
        error when there is none); see :mod:`separation.device`.
    batch_tracks : int
        Tracks :meth:`separate_files` and :meth:`separate_many` process at once, their chunks
        batched into shared model calls (:mod:`separation.batching`); raise it on a GPU.

    Examples
    --------
    >>> sep = Separator("spleeter:2stems")
    >>> stems = sep.separate(waveform, 44100)       # doctest: +SKIP
    >>> sorted(stems)                               # doctest: +SKIP
    ['accompaniment', 'vocals']
    """

    def __init__(
        self,
        params_descriptor: str | ModelConfig = "spleeter:2stems",
        *,
        mwf: bool = False,
        overlap: bool = False,
        chunk_segments: int | None = None,
        multichannel: str = "first-two",
        provider: ModelProvider | None = None,
        device: str = "auto",
        batch_tracks: int = 1,
    ) -> None:
        self.config = (
            params_descriptor
            if isinstance(params_descriptor, ModelConfig)
            else load_config(params_descriptor)
        )
        if chunk_segments is not None and chunk_segments < 1:
            raise ValueError("chunk_segments must be at least 1")
        if batch_tracks < 1:
            raise ValueError("batch_tracks must be at least 1")
        if device not in DEVICES:
            raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {device!r}")
        self.mwf = mwf
        self.overlap = overlap
        self._chunk_segments = chunk_segments
        self.multichannel = multichannel
        self.provider = provider or ModelProvider()
        self.requested_device = device
        self.batch_tracks = batch_tracks
        self._device: Device | None = None
        self._model = None
        self._model_files: ModelFiles | None = None
        self._processors: dict[int, ChunkProcessor] = {}
        self._lock = threading.Lock()
        self._local = threading.local()

    # -- model -------------------------------------------------------------------------------

    @property
    def instruments(self) -> tuple[str, ...]:
        """Stem names, in model order."""
        return self.config.instruments

    @property
    def device(self) -> Device:
        """The device the model runs on (resolved on first use)."""
        if self._device is None:
            self._device = resolve_device(self.requested_device)
        return self._device

    @property
    def chunk_segments(self) -> int:
        """Segments per processing chunk (the device's default unless given)."""
        return self._chunk_segments or self.device.default_chunk_segments

    @property
    def model(self) -> keras.Model:
        """The loaded Keras model (loads it if needed); it runs on any Keras backend."""
        self.load()
        return self._model

    @property
    def model_files(self) -> ModelFiles:
        """The verified checkpoint in use (loads the model if needed)."""
        self.load()
        assert self._model_files is not None
        return self._model_files

    def load(self) -> Separator:
        """Fetch, verify and load the weights and build the model, once per Separator."""
        with self._lock:
            return self._load_locked()

    def _load_locked(self) -> Separator:
        if self._model is not None:
            return self
        from .unet import build_unet

        started = time.perf_counter()
        files = self.provider.get(self.config.model_dir)
        converted = load_converted(
            self.config, files.prefix, files.checkpoint_sha256,
            cache_dir=self.provider.model_path / ".converted",
        )  # fmt: skip
        with _device_scope(self.device):
            model = build_unet(self.config)
            assign_weights(model, converted.weights)
        self._model, self._model_files = model, files
        log.info(
            "loaded %s (checkpoint %s, from %s) on %s in %.1fs",
            self.config.name, files.checkpoint_sha256[:12], files.source, self.device.kind,
            time.perf_counter() - started,
        )  # fmt: skip
        return self

    def _processor(self, segments: int) -> ChunkProcessor:
        self.load()
        with self._lock:  # concurrent tracks must share one processor (and its batcher)
            return self._processor_locked(segments)

    def _processor_locked(self, segments: int) -> ChunkProcessor:
        if segments not in self._processors:
            cfg = self.config
            template = ChunkPlan(0, cfg.frame_length, cfg.frame_step, cfg.T, segments, self.overlap)
            self._processors[segments] = ChunkProcessor(
                cfg, self._model, template, self.device.tf_name, self.batch_tracks
            )
        return self._processors[segments]

    # -- core loop ---------------------------------------------------------------------------

    def plan(self, n_samples: int) -> ChunkPlan:
        """Chunk plan for ``n_samples`` at the model rate (short inputs use fewer segments,
        except when tracks are batched)."""
        cfg = self.config
        full = ChunkPlan(n_samples, cfg.frame_length, cfg.frame_step, cfg.T, 1, self.overlap)
        segments = self.chunk_segments
        if self.batch_tracks == 1:  # batched tracks share one chunk shape (and model call)
            segments = min(segments, max(1, -(-full.n_frames // cfg.T)))
        return ChunkPlan(n_samples, cfg.frame_length, cfg.frame_step, cfg.T, segments, self.overlap)

    def iter_model_rate(
        self, source: BlockSource, n_samples: int, progress: Progress | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Separate a stereo model-rate stream; yields ``(start, (n_instr, len, 2))`` blocks.

        ``source`` is called once (twice with MWF, which needs two passes) and must return an
        iterator over the same ``n_samples`` stereo samples each time.
        """
        plan = self.plan(n_samples)
        proc = self._processor(plan.chunk_segments)
        joined = getattr(self._local, "joined", None)  # registered by _concurrently
        self._local.joined = None
        if joined is not proc:
            if joined is not None:
                joined.batcher.leave()
            proc.batcher.join()
        try:
            yield from self._iter_chunks(proc, plan, source, n_samples, progress)
        finally:  # the other tracks in a batch must not wait for this one any more
            proc.batcher.leave()

    def _iter_chunks(
        self,
        proc: ChunkProcessor,
        plan: ChunkPlan,
        source: BlockSource,
        n_samples: int,
        progress: Progress | None,
    ) -> Iterator[tuple[int, np.ndarray]]:
        total = plan.n_chunks * (2 if self.mwf else 1)
        done = 0

        def inputs() -> Iterator[np.ndarray]:
            window = SampleWindow(source(), n_samples, 2)
            for c in range(plan.n_chunks):
                start = plan.input_start(c)
                yield window.take(start, start + plan.input_length)

        def tick() -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total)

        if not self.mwf:

            def outputs() -> Iterator[np.ndarray]:
                for chunk in inputs():
                    out = proc(chunk)
                    tick()
                    yield out

        else:
            stats = WienerStatistics(self.config.n_bins, len(self.instruments))
            for chunk in inputs():
                stats.update(*proc.estimates(chunk))
                tick()

            def outputs() -> Iterator[np.ndarray]:
                for chunk in inputs():
                    stft, est = proc.estimates(chunk)
                    out = proc.inverse(wiener_filter(stft, est, stats))
                    tick()
                    yield out

        yield from stitch_chunks(plan, outputs())

    # -- public API --------------------------------------------------------------------------

    def separate(
        self, waveform: np.ndarray, sample_rate: int | None = None
    ) -> dict[str, np.ndarray]:
        """Separate an in-memory signal.

        Parameters
        ----------
        waveform : ndarray, ``(n_samples, n_channels)`` or ``(n_samples,)``
            Audio samples, any channel count (see the channel rule in
            :mod:`separation.audio`).
        sample_rate : int, optional
            Rate of ``waveform`` in Hz; defaults to the model rate (44.1 kHz).

        Returns
        -------
        dict of str to ndarray
            One float32 ``(n_samples, 2)`` array per instrument, at ``sample_rate``.
        """
        audio = validate_waveform(waveform)
        rate = int(sample_rate or self.config.sample_rate)
        stereo = to_stereo(audio, self.multichannel)
        model_rate = self.config.sample_rate
        n_model = resampled_length(len(stereo), rate, model_rate)

        def source() -> Iterator[np.ndarray]:
            return resample_blocks(iter([stereo]), rate, model_rate, 2, n_model)

        out = np.zeros((len(self.instruments), n_model, 2), np.float32)
        with contextlib.closing(self.iter_model_rate(source, n_model)) as blocks:
            for start, block in blocks:
                out[:, start : start + block.shape[1]] = block
        if rate != model_rate:
            out = np.stack([_resample_exact(o, model_rate, rate, len(stereo)) for o in out])
        return {inst: out[i] for i, inst in enumerate(self.instruments)}

    def separate_to_file(
        self,
        audio_descriptor: str | Path,
        destination: str | Path,
        *,
        filename_format: str = DEFAULT_FILENAME_FORMAT,
        codec: str = "wav",
        bitrate: str | None = "128k",
        offset: float = 0.0,
        duration: float | None = None,
        progress: Progress | None = None,
    ) -> SeparationResult:
        """Separate an audio file and write one file per stem.

        Stems are written at the input's sample rate, streamed chunk by chunk to temporary
        files that are renamed into place only when the whole file succeeded.

        Parameters
        ----------
        audio_descriptor : str or Path
            Input file (anything libsndfile reads: wav, flac, ogg, mp3, aiff, ...).
        destination : str or Path
            Output root directory.
        filename_format : str
            Spleeter's format, keys ``{filename}``, ``{foldername}``, ``{instrument}``,
            ``{codec}``.
        codec : str
            ``wav``, ``flac``, ``ogg`` or ``mp3``.
        bitrate : str, optional
            Bitrate for ``ogg`` and ``mp3`` (``"128k"``).
        offset : float
            Seconds to skip at the start.
        duration : float, optional
            Seconds to separate from ``offset``; ``None`` (default) means to the end.

        Raises
        ------
        AudioError
            The input is unreadable, empty, truncated or holds NaN/Inf; nothing is written.
        """
        started = time.perf_counter()
        info = probe(Path(audio_descriptor))
        paths = stem_paths(info.path, Path(destination), self.instruments, filename_format, codec)
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
        rate, model_rate = info.sample_rate, self.config.sample_rate
        n_model = resampled_length(frames, rate, model_rate)

        # Lossy files do not hold the samples written, so only lossless stems are metered.
        residual = SumResidual(rate, residual_band_hz(self.config, rate))
        metered = codec in LOSSLESS_CODECS
        passes = iter(range(2 if self.mwf else 1, 0, -1))  # the mixture is metered once

        def source() -> Iterator[np.ndarray]:
            stereo = (to_stereo(b, self.multichannel) for b in read_blocks(info, start, frames))
            if next(passes) == 1 and metered:  # the last pass: its outputs are written
                stereo = _metered(stereo, residual)
            return resample_blocks(stereo, rate, model_rate, 2, n_model)

        def write(pieces: list[np.ndarray]) -> None:
            pairs = zip(self.instruments, pieces, strict=True)
            written = [writers[inst].write(piece) for inst, piece in pairs]
            if metered:
                residual.add_stems(written)

        def write_block(block: np.ndarray) -> None:
            pieces = [list(restorers[inst].push(block[i])) for i, inst in
                      enumerate(self.instruments)]  # fmt: skip
            for same in zip(*pieces, strict=True):
                write(list(same))

        self.load()
        writers = {inst: StemWriter(paths[inst], rate, 2, codec, kbps) for inst in self.instruments}
        restorers = {inst: _RateRestorer(model_rate, rate, frames) for inst in self.instruments}
        try:
            # Stems are written in a background thread while the model computes the next chunk.
            background = BackgroundConsumer(write_block, name="stemline-stem-writer")
            try:
                with contextlib.closing(self.iter_model_rate(source, n_model, progress)) as blocks:
                    for _, block in blocks:
                        background.put(block)
            except BaseException:
                background.close(raise_error=False)
                raise
            background.close()
            pieces = [list(restorers[inst].finish()) for inst in self.instruments]
            for same in zip(*pieces, strict=True):
                write(list(same))
            residual_db = residual.residual_db() if metered else None
            for inst in self.instruments:
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

    def separate_many(
        self, waveforms: Sequence[np.ndarray], sample_rate: int | None = None
    ) -> list[dict[str, np.ndarray]]:
        """Separate several in-memory signals, ``batch_tracks`` at a time in shared model calls.

        Returns one :meth:`separate` result per waveform, in order; each equals what
        :meth:`separate` gives for that waveform alone.
        """
        results = dict(self._concurrently(range(len(waveforms)), lambda i: self.separate(
            waveforms[i], sample_rate
        )))  # fmt: skip
        for i in range(len(waveforms)):
            if isinstance(results[i], Exception):
                raise results[i]
        return [results[i] for i in range(len(waveforms))]

    def separate_files(
        self,
        audio_descriptors: Sequence[str | Path],
        destination: str | Path,
        *,
        progress_for: Callable[[Path], Progress | None] | None = None,
        **options,
    ) -> Iterator[tuple[Path, SeparationResult | Exception]]:
        """Separate many files, ``batch_tracks`` at a time in shared model calls.

        Yields ``(path, result)`` as files finish, where ``result`` is the
        :class:`SeparationResult` or the exception that file raised: one bad file never stops
        the others. ``options`` are :meth:`separate_to_file`'s keyword arguments;
        ``progress_for(path)`` gives a file's progress callback.
        """

        def one(path: Path) -> SeparationResult:
            progress = progress_for(path) if progress_for is not None else None
            return self.separate_to_file(path, destination, progress=progress, **options)

        yield from self._concurrently([Path(p) for p in audio_descriptors], one)

    def _concurrently(self, keys: Sequence, work: Callable) -> Iterator[tuple]:
        """Run ``work(key)`` for every key, ``batch_tracks`` threads at a time, yielding
        ``(key, result or exception)`` as they finish.

        Every track is registered with the shared batcher before its thread starts, so the
        first model call already waits for all tracks of the first round.
        """
        proc = self._processor(self.chunk_segments)
        slots = threading.Semaphore(self.batch_tracks)

        def run(key):
            self._local.joined = proc
            try:
                return work(key)
            except Exception as exc:  # one track's failure is its own result
                return exc
            finally:
                if getattr(self._local, "joined", None) is not None:  # never reached the model
                    self._local.joined = None
                    proc.batcher.leave()
                slots.release()

        keys = list(keys)
        with ThreadPoolExecutor(self.batch_tracks, thread_name_prefix="separate") as pool:
            futures = {}
            first = keys[: self.batch_tracks]
            for _ in first:
                slots.acquire()
                proc.batcher.join()
            futures.update({pool.submit(run, key): key for key in first})
            for key in keys[len(first) :]:
                while not slots.acquire(timeout=0.05):
                    yield from _pop_done(futures)
                proc.batcher.join()
                futures[pool.submit(run, key)] = key
            for future in as_completed(list(futures)):
                yield futures.pop(future), future.result()


def _pop_done(futures: dict) -> Iterator[tuple]:
    for future in [f for f in futures if f.done()]:
        yield futures.pop(future), future.result()


@contextlib.contextmanager
def _device_scope(device: Device) -> Iterator[None]:
    """Place the model's variables on ``device`` (TensorFlow backend; the model itself is
    backend-neutral and other Keras backends place it themselves)."""
    import keras

    if keras.backend.backend() != "tensorflow":
        yield
        return
    import tensorflow as tf

    with tf.device(device.tf_name):
        yield


def _resample_exact(x: np.ndarray, rate_in: int, rate_out: int, n_out: int) -> np.ndarray:
    y = soxr.resample(x, rate_in, rate_out, quality="HQ").astype(np.float32)
    if len(y) >= n_out:
        return y[:n_out]
    return np.concatenate([y, np.zeros((n_out - len(y), y.shape[1]), np.float32)])


def _metered(blocks: Iterator[np.ndarray], residual: SumResidual) -> Iterator[np.ndarray]:
    """Pass mixture blocks through, feeding each to ``residual`` as it goes by."""
    for block in blocks:
        residual.add_mixture(block)
        yield block


class _RateRestorer:
    """Stream stems from the model rate back to the input rate, exactly ``n_out`` samples."""

    def __init__(self, rate_in: int, rate_out: int, n_out: int) -> None:
        self.n_out = n_out
        self.sent = 0
        self.stream = (
            None
            if rate_in == rate_out
            else soxr.ResampleStream(rate_in, rate_out, 2, dtype="float32", quality="HQ")
        )

    def _emit(self, y: np.ndarray) -> Iterator[np.ndarray]:
        y = y[: max(0, self.n_out - self.sent)]
        if len(y):
            self.sent += len(y)
            yield y

    def push(self, block: np.ndarray) -> Iterator[np.ndarray]:
        if self.stream is None:
            yield from self._emit(block)
        else:
            yield from self._emit(self.stream.resample_chunk(np.ascontiguousarray(block)))

    def finish(self) -> Iterator[np.ndarray]:
        if self.stream is not None:
            yield from self._emit(
                self.stream.resample_chunk(np.zeros((0, 2), np.float32), last=True)
            )
        if self.sent < self.n_out:
            yield from self._emit(np.zeros((self.n_out - self.sent, 2), np.float32))
