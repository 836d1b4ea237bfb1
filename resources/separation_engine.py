"""The separation engine: a Spleeter model loaded once per process, and the stems code version.

:class:`SeparationEngine` is a Dagster resource whose configuration is every separation option
(model, MWF, overlap, device, tracks per batch, segments per chunk). Dagster calls
:meth:`~SeparationEngine.setup_for_execution` once per run and process that uses it, which loads
the model; every step in that process then reuses it. ``stemline run`` sets one engine up for
the whole folder and hands it to each track's run (:mod:`orchestration.pipeline`), so the model
loads once per ``stemline run``.

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
from dataclasses import asdict

import dagster as dg
from pydantic import PrivateAttr

from separation import Separator
from separation.configs import ModelConfig, load_config
from separation.provider import RELEASE_SHA256

#: Bump when stemline's signal path changes its output, so stems show as stale.
ENGINE_VERSION = "1"


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


def stems_code_version(model: str, mwf: bool = False, overlap: bool = False) -> str:
    """``<model>[+mwf][+overlap]@<expected checkpoint digest>/engine<ENGINE_VERSION>``.

    Only options that change the stems enter it: the device, the tracks per batch and the
    segments per chunk do not (chunked, batched and whole-file separation give the same
    stems, which the separation tests assert).
    """
    digest = expected_checkpoint_digest(load_config(model))
    options = "".join(flag for flag, on in (("+mwf", mwf), ("+overlap", overlap)) if on)
    return f"{model}{options}@{digest}/engine{ENGINE_VERSION}"


class SeparationEngine(dg.ConfigurableResource):
    """Spleeter separation (:class:`separation.Separator`) shared by every step in a process.

    The model loads in :meth:`setup_for_execution`. A load that fails there (weights not
    fetched yet and the network down, say) is tried again by the first step that asks for the
    separator, so the failure belongs to that step: its retry policy applies and its message
    names the cause.
    """

    model: str = "spleeter:2stems"
    mwf: bool = False
    overlap: bool = False
    #: ``auto`` (a GPU when TensorFlow sees one), ``cpu`` or ``gpu`` (fails without one).
    device: str = "auto"
    #: Tracks separated at once by the multi-track calls; raise it on a GPU.
    batch_tracks: int = 1
    #: Segments (11.9 s each) per processing chunk; ``None``: the device's default.
    chunk_segments: int | None = None

    _separator: Separator | None = PrivateAttr(default=None)

    def code_version(self) -> str:
        """The stems code version for this configuration (:func:`stems_code_version`)."""
        return stems_code_version(self.model, self.mwf, self.overlap)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Load the model once for this run and process (see the class docstring)."""
        try:
            self._separator = self._load()
        except Exception as exc:  # tried again, and raised, in the step that needs it
            if context.log is not None:
                context.log.warning(f"separation model not loaded yet: {exc}")
            self._separator = None

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        """Drop the model, so its memory goes with the run that loaded it."""
        self._separator = None

    def separator(self) -> Separator:
        """The loaded separator; loaded now if :meth:`setup_for_execution` could not."""
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
        ).load()
