"""The public separation API: :class:`Separator`, a facade over one module per concept.

A :class:`Separator` loads its model once (lazily, on first use) and reuses it for every call,
unlike Spleeter, which rebuilds its estimator per call. Audio of any length is processed in
chunks of whole U-Net segments (:mod:`separation.chunking`), so memory stays flat in duration
and the result equals processing the whole file at once; nothing is truncated.

The work is done in:

- :mod:`separation.model`: configuration, device, weights loaded once, chunk processors;
- :mod:`separation.stream`: the chunk loop at the model rate, with MWF's two passes;
- :mod:`separation.in_memory`: :meth:`Separator.separate` on arrays;
- :mod:`separation.file_separation`: :meth:`Separator.separate_to_file`, streamed;
- :mod:`separation.many_tracks` and :mod:`separation.multitrack`: several tracks at once,
  batched into shared model calls.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from .backends import select_backend
from .configs import ModelConfig, load_config
from .device import DEVICES, Device
from .file_separation import SeparationResult, separate_to_file
from .in_memory import separate_waveform
from .many_tracks import ManyTracks
from .model import SeparationModel
from .precision import DEFAULT_PRECISION, Precision
from .provider import ModelFiles, ModelProvider
from .stem_paths import DEFAULT_FILENAME_FORMAT
from .stream import BlockSource, Progress, iter_model_rate

if TYPE_CHECKING:
    import keras

    from .chunking import ChunkPlan
    from .engine import ChunkProcessor
    from .stage_clock import StageClock

__all__ = ["SeparationResult", "Separator"]


class Separator(ManyTracks):
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
        ``"auto"`` (a GPU if the Keras backend sees one, else the CPU), ``"cpu"`` or ``"gpu"``
        (an error when there is none); see :mod:`separation.device`.
    batch_tracks : int
        Tracks :meth:`separate_files` and :meth:`separate_many` process at once, their chunks
        batched into shared model calls (:mod:`separation.batching`); raise it on a GPU.
    precision : str
        ``"exact"`` (default: float32, no TF32), ``"tf32"`` or ``"bf16"``; see
        :mod:`separation.precision`.
    weights : str or Path, optional
        A converted weights file (:mod:`separation.weights_file`) to load instead of the
        checkpoint: no TensorFlow needed, ``provider`` unused.
    backend : str, optional
        The Keras backend this separator must run on (``tensorflow``, ``jax``, ``torch``): set
        for this process when keras is not imported yet, an error when keras already runs on
        another (:func:`separation.backends.select_backend`). ``None``: whatever Keras runs on
        (``KERAS_BACKEND``).
    stage_clock : StageClock, optional
        Times the device stages (STFT, U-Net, inverse STFT) while it records, for benchmarks
        (:mod:`separation.stage_clock`); ``None`` (default) times nothing.
    host_threads : bool
        Decode, resample, encode and meter in threads beside the model (default), so the
        model does not wait for them (:mod:`separation.file_separation`); ``False`` does all
        of it in the calling thread, for measuring the gain. The stems are the same either way.

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
        precision: str = DEFAULT_PRECISION,
        weights: str | Path | None = None,
        backend: str | None = None,
        stage_clock: StageClock | None = None,
        host_threads: bool = True,
    ) -> None:
        if backend is not None:
            select_backend(backend)
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
        self.multichannel = multichannel
        self.provider = provider or ModelProvider()
        self.requested_device = device
        self.batch_tracks = batch_tracks
        self.precision = Precision(precision).name
        self.host_threads = host_threads
        self._core = SeparationModel(
            self.config,
            self.provider,
            device,
            overlap=overlap,
            chunk_segments=chunk_segments,
            batch_tracks=batch_tracks,
            precision=Precision(precision),
            weights=None if weights is None else Path(weights),
            stage_clock=stage_clock,
        )

    # -- model -------------------------------------------------------------------------------

    @property
    def instruments(self) -> tuple[str, ...]:
        """Stem names, in model order."""
        return self.config.instruments

    @property
    def device(self) -> Device:
        """The device the model runs on (resolved on first use)."""
        return self._core.device

    @property
    def chunk_segments(self) -> int:
        """Segments per processing chunk (the device's default unless given)."""
        return self._core.chunk_segments

    @property
    def stage_clock(self) -> StageClock | None:
        """The clock the device stages are charged to (``stage_clock=``), if any."""
        return self._core.stage_clock

    @property
    def model(self) -> keras.Model:
        """The loaded Keras model (loads it if needed); it runs on any Keras backend."""
        return self._core.keras_model

    @property
    def model_files(self) -> ModelFiles:
        """The verified checkpoint in use (loads the model if needed)."""
        return self._core.files

    def load(self) -> Separator:
        """Fetch, verify and load the weights and build the model, once per Separator."""
        self._core.load()
        return self

    def _processor(self, segments: int) -> ChunkProcessor:
        """The shared chunk processor (and batcher) for chunks of ``segments`` segments."""
        return self._core.processor(segments)

    def plan(self, n_samples: int) -> ChunkPlan:
        """Chunk plan for ``n_samples`` at the model rate (short inputs use fewer segments,
        except when tracks are batched)."""
        return self._core.plan(n_samples)

    def iter_model_rate(
        self, source: BlockSource, n_samples: int, progress: Progress | None = None
    ) -> Iterator[tuple[int, np.ndarray]]:
        """Separate a stereo model-rate stream; yields ``(start, (n_instr, len, 2))`` blocks.

        ``source`` is called once (twice with MWF, which needs two passes) and must return an
        iterator over the same ``n_samples`` stereo samples each time; with ``host_threads``
        it is called and advanced in a reader thread.
        """
        return iter_model_rate(
            self._core, source, n_samples, mwf=self.mwf, progress=progress,
            read_ahead=self.host_threads,
        )  # fmt: skip

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
        return separate_waveform(
            self._core, waveform, sample_rate, mwf=self.mwf, multichannel=self.multichannel,
            read_ahead=self.host_threads,
        )  # fmt: skip

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
        return separate_to_file(
            self._core, audio_descriptor, destination,
            mwf=self.mwf, multichannel=self.multichannel, filename_format=filename_format,
            codec=codec, bitrate=bitrate, offset=offset, duration=duration, progress=progress,
            host_threads=self.host_threads,
        )  # fmt: skip
