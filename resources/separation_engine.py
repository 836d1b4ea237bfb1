"""The separation engine: a Spleeter model loaded once per process, and the stems code version.

:class:`SeparationEngine` is a Dagster resource whose configuration is every separation option
(model, MWF, overlap, device, tracks per batch, segments per chunk, precision, weights file,
Keras backend). The model loads on first use in a run, once per run and process (a run is a
batch of tracks, :mod:`assets.track_assets`), and every track of the run reuses it.
``stemline run`` sets one engine up for the whole folder and hands it to each of its runs
(:mod:`orchestration.pipeline`), so the model loads once per ``stemline run``.

With ``warm_engine`` on (the default), a run whose model options match a running warm engine
(``stemline engine start``, :mod:`separation.warm_engine`) has it separate the run's tracks
(:meth:`SeparationEngine.separate_tracks`): the run then never imports Keras, builds the model
or compiles its first call. When none is running, or it has other options, the run loads the
model itself and its log says why.

The stems code version (:meth:`SeparationEngine.code_version`) is a constant of the code and
the configuration, never of the machine: it names the model, the checkpoint the model is
*expected* to load and the options that change the stems, so the webserver, the daemon, the
workers and ``stemline run`` agree on it whether or not the weights are present. The digest of
the checkpoint actually loaded is recorded with every materialisation instead (the stems
asset's metadata and data version).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dagster as dg
from pydantic import PrivateAttr

from separation import SeparationResult, Separator
from separation.configs import ModelConfig, load_config
from separation.precision import DEFAULT_PRECISION, Precision
from separation.provider import RELEASE_SHA256, default_model_path
from separation.warm_engine.client import EngineUnavailable, find_engine
from separation.warm_engine.lifecycle import engine_paths
from separation.warm_engine.protocol import EngineOptions, config_identity, configured_backend
from separation.warm_engine.track_jobs import EngineTracks

#: Bump when what the stems step stores changes (the stem audio its signal path computes, or the
#: stems table, such as the levels measured while writing), so stems show as stale.
ENGINE_VERSION = "2"


def expected_checkpoint_digest(config: ModelConfig) -> str:
    """The first 12 hex digits naming the checkpoint ``config`` is meant to load.

    For Spleeter's published models (``2stems``, ``4stems``, ``5stems`` and their ``-16kHz``
    variants, which share their base model's checkpoint) it is the published sha256 of the
    release archive (:data:`separation.provider.RELEASE_SHA256`). For a JSON configuration
    whose ``model_dir`` is not in that table it is ``cfg-`` and the sha256 of the
    configuration's values (``model_dir`` included), so editing the configuration or pointing
    it at another checkpoint directory changes the code version; replacing the files inside
    that directory does not (nothing on disk is read), but changes the stems' data version.
    """
    published = RELEASE_SHA256.get(config.checkpoint_name)
    if published is not None:
        return published[:12]
    values = asdict(config)
    values.pop("name")  # where the configuration was read from is not what it says
    text = json.dumps(values, sort_keys=True, default=str)
    return "cfg-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def stems_code_version(
    model: str, mwf: bool = False, overlap: bool = False, precision: str = DEFAULT_PRECISION
) -> str:
    """``<model>[+mwf][+overlap][+<precision>]@<expected checkpoint digest>/engine<N>``.

    Only options that change the stems enter it: a precision other than ``exact`` does
    (``+tf32``, ``+bf16``); the device, the Keras backend, the tracks per batch and the
    segments per chunk do not (chunked, batched and whole-file separation, and the TensorFlow
    and JAX backends, give the same stems to float32 rounding, which the separation tests
    assert).
    """
    digest = expected_checkpoint_digest(load_config(model))
    options = "".join(flag for flag, on in (("+mwf", mwf), ("+overlap", overlap)) if on)
    options += Precision(precision).code_version_flag
    return f"{model}{options}@{digest}/engine{ENGINE_VERSION}"


class SeparationEngine(dg.ConfigurableResource):
    """Spleeter separation (:class:`separation.Separator`) shared by every step in a process.

    The model loads on the first call of :meth:`separator` in a run (once per process and
    run; ``stemline run`` sets one engine up for all its runs), not in
    :meth:`setup_for_execution`: a run that only computes features or checks never loads it,
    and a load that fails (weights not fetched yet and the network down, say) fails the step
    that needed it, whose retry policy applies and whose message names the cause.
    """

    model: str = "spleeter:2stems"
    mwf: bool = False
    overlap: bool = False
    #: ``auto`` (a GPU when the Keras backend sees one), ``cpu`` or ``gpu`` (fails without one).
    device: str = "auto"
    #: Tracks separated at once by the multi-track calls; raise it on a GPU.
    batch_tracks: int = 1
    #: Segments (11.9 s each) per processing chunk; ``None``: the device's default.
    chunk_segments: int | None = None
    #: ``exact`` (float32, no TF32), ``tf32`` or ``bf16`` (:mod:`separation.precision`).
    precision: str = DEFAULT_PRECISION
    #: A converted weights file (:mod:`separation.weights_file`) instead of the checkpoint,
    #: for hosts without TensorFlow.
    weights: str | None = None
    #: The Keras backend the model must run on; ``None``: ``KERAS_BACKEND``'s. Keras picks
    #: its backend once per process, so a process already running another one fails to load.
    backend: str | None = None
    #: Hand the run's tracks to a running warm engine with these model options, if any.
    warm_engine: bool = True

    _separator: Separator | None = PrivateAttr(default=None)

    def code_version(self) -> str:
        """The stems code version for this configuration (:func:`stems_code_version`)."""
        return stems_code_version(self.model, self.mwf, self.overlap, self.precision)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Drop the model, so its memory goes with the run that loaded it."""
        self._separator = None

    def separator(self) -> Separator:
        """The loaded separator, loaded on first use."""
        if self._separator is None:
            self._separator = self._load()
        return self._separator

    def _load(self) -> Separator:
        """A new :class:`~separation.Separator` with this configuration, weights loaded."""
        return Separator(
            self.model,
            mwf=self.mwf,
            overlap=self.overlap,
            device=self.device,
            batch_tracks=self.batch_tracks,
            chunk_segments=self.chunk_segments,
            precision=self.precision,
            weights=self.weights,
            backend=self.backend,
        ).load()

    def separate_tracks(
        self, jobs: Sequence[tuple[str | Path, str | Path]], *, filename_format: str, codec: str,
        log: Any,
    ) -> tuple[str, Iterator[tuple[int, SeparationResult | Exception]]]:  # fmt: skip
        """Separate ``(input, stems folder)`` jobs as :meth:`Separator.separate_into` does: on a
        matching warm engine when one runs (and ``warm_engine`` is on), else on this run's own
        model. Returns the sha256 of the checkpoint that separates them and the results.

        ``log`` (the run's logger) gets one line saying which engine separates the batch.
        """
        remote = self._warm_engine(log)
        if remote is not None:
            try:
                results = remote.start(jobs, filename_format=filename_format, codec=codec)
                return remote.checkpoint_sha256, results
            except EngineUnavailable as exc:
                log.info(f"{exc}; loading the model in this run")
        separator = self.separator()
        results = separator.separate_into(jobs, filename_format=filename_format, codec=codec)
        return separator.model_files.checkpoint_sha256, results

    def engine_options(self) -> EngineOptions:
        """The options an engine must have to give this configuration's stems (channels beyond
        two: ``first-two``, the rule the run's own :class:`~separation.Separator` uses)."""
        return EngineOptions(
            model=self.model, config_id=config_identity(load_config(self.model)), mwf=self.mwf,
            overlap=self.overlap, precision=Precision(self.precision).name, device=self.device,
            multichannel="first-two", backend=self.backend or configured_backend(),
            model_path=str(default_model_path().absolute()),
        )  # fmt: skip

    def _warm_engine(self, log: Any) -> EngineTracks | None:
        """A matching warm engine, or ``None`` (the log says why when one runs but cannot do
        the job)."""
        if not self.warm_engine or self._separator is not None:
            return None  # off, or this run already loaded its own model
        if self.weights is not None:
            log.info("a weights file is configured: separating with this run's own model")
            return None
        conn, why = find_engine(engine_paths(), self.engine_options())
        if conn is None:
            log.info(f"{why}; loading the model in this run")
            return None
        log.info(why)
        return EngineTracks(conn)
