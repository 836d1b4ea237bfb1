"""``stems``: separate a track with the configured Spleeter model, one file per stem.

The tracks of a run are separated together (:func:`separate_batch`): the engine keeps up to
``batch_tracks`` of them in flight, their segments sharing model calls
(:meth:`separation.Separator.separate_into`), and each track is recorded as soon as its own
stems are written. Each keeps its own outcome: a bad file fails only its partition, with its
one-line reason.

What is separated must be the track the scan hashed: the input is hashed again after
separation, and if it changed meanwhile the stems just written are removed and the step fails
with ``<path>: changed while being processed (...)`` (the next scan takes the new content in).
"""

import contextlib
import functools
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import dagster as dg

from catalogue.inventory import InputChanged, discard_if_changed, printable, regular_file_problem
from catalogue.store import stems_data_version
from separation import SeparationResult
from separation.audio import AudioError

from .records import TrackPartition, permanent_failure, required
from .track_step import Compute, StepResult, TrackStep

#: Where each stem goes inside the track's stems folder.
FILENAME_FORMAT = "{instrument}.{codec}"


def fail_if_changed(source: str, track: dict, outputs: list[str | os.PathLike]) -> None:
    """Fail the track if ``source`` no longer holds its content; ``outputs`` computed from
    other content are removed rather than recorded for this track."""
    try:
        discard_if_changed(source, track["sha256"], outputs)
    except InputChanged as exc:
        raise permanent_failure(str(exc)) from exc


@dataclass(frozen=True)
class _Input:
    """A track about to be separated: its partition, its record and its input file."""

    part: TrackPartition
    track: dict
    source: str

    @classmethod
    def of(cls, part: TrackPartition) -> "_Input":
        """The track's input, refused when it is not a regular file (a FIFO or device would
        block the decoder)."""
        track = required(part.store.track_record)
        source = part.store.input_file(track)
        problem = regular_file_problem(source)
        if problem:
            raise permanent_failure(f"{track['path']}: {problem}")
        return cls(part, track, source)


def stems(part: TrackPartition, code_version: str) -> StepResult:
    """Separate the track into stems with the configured Spleeter model (on the GPU when
    present). Stems are written at the input's rate, one file each, atomically."""
    with contextlib.closing(separate_batch([part], code_version)) as batch:
        for _, compute in batch:
            return compute()
    raise AssertionError("separate_batch yields every track it is given")


def separate_batch(
    parts: Sequence[TrackPartition], code_version: str
) -> Iterator[tuple[TrackPartition, Compute]]:
    """:func:`stems` for a batch of tracks, separated together; yields each track with what
    records its stems (or raises its failure) as its separation ends.

    A track whose record or input is unusable is yielded first, with its failure; the others
    are separated ``batch_tracks`` at a time by the engine they share (a running warm engine
    when it matches, :meth:`~resources.separation_engine.SeparationEngine.separate_tracks`).
    """
    ready = []
    for part in parts:
        try:
            ready.append(_Input.of(part))
        except Exception as exc:  # this track's own failure, raised when it is computed
            yield part, functools.partial(_raise, exc)
    if not ready:
        return
    first = ready[0].part
    checkpoint, results = first.engine.separate_tracks(
        [(given.source, given.part.store.stems_dir) for given in ready],
        filename_format=FILENAME_FORMAT, codec=first.settings.codec, log=first.log,
    )  # fmt: skip
    with contextlib.closing(results):  # a batch given up on waits for its tracks in flight
        for i, result in results:
            given = ready[i]
            yield given.part, functools.partial(_record, given, checkpoint, result, code_version)


def _raise(error: Exception) -> StepResult:
    raise error


def _record(
    given: _Input,
    checkpoint: str,
    result: SeparationResult | Exception,
    code_version: str,
) -> StepResult:
    """Record a track's separation by the checkpoint whose sha256 is ``checkpoint``: check that
    its input did not change meanwhile, write its stems table; or fail the track with the
    separation's error."""
    part, track, source = given.part, given.track, given.source
    if isinstance(result, AudioError):  # the file itself is bad: retrying cannot help
        fail_if_changed(source, track, [])
        raise permanent_failure(printable(str(result))) from result
    if isinstance(result, Exception):
        raise result
    store, settings = part.store, part.settings
    written = [*result.stems.values(), store.stems_table_path]
    fail_if_changed(source, track, written)
    store.write_stems_table(
        result.stems,
        result.levels_dbfs,  # measured while writing, no re-read
        result.clipped_samples,
        codec=settings.codec,
        checkpoint_sha256=checkpoint,
        code_version=code_version,
        duration_s=result.duration_s,
        sample_rate=result.sample_rate,
        mixture_residual_db=result.mixture_residual_db,
        separation_s=result.seconds,
        written_at=datetime.now(UTC),
        run_id=part.run_id,
    )
    part.record_run("stems")
    speed = result.duration_s / result.seconds if result.seconds else float("nan")
    part.log.info(f"separated {track['path']} in {result.seconds:.1f} s ({speed:.1f}x)")
    return StepResult(
        data_version=stems_data_version(track["sha256"], checkpoint, code_version),
        metadata={
            "model": settings.model,
            "checkpoint_sha256": checkpoint,
            "stems": dg.MetadataValue.json({s: os.fspath(p) for s, p in result.stems.items()}),
            "seconds": result.seconds,
            "x_realtime": speed,
            "clipped_samples": sum(result.clipped_samples.values()),
        },
    )


def stems_step(code_version: str) -> TrackStep:
    """The stems step for the engine whose code version is ``code_version``
    (:meth:`~resources.separation_engine.SeparationEngine.code_version`: it names the model,
    the checkpoint it is expected to load and the options, and reads nothing from disk); the
    batch's tracks are separated together (:func:`separate_batch`)."""
    return TrackStep(
        "stems",
        lambda part: stems(part, code_version),
        code_version=code_version,
        description=stems.__doc__,
        deps=("track_audio",),
        group_name="separation",
        kinds=frozenset({"keras", "flac"}),
        run_many=lambda parts: separate_batch(parts, code_version),
    )
