"""``stems``: separate a track with the configured Spleeter model, one file per stem.

What is separated must be the track the scan hashed: the input is hashed again after
separation, and if it changed meanwhile the stems just written are removed and the step fails
with ``<path>: changed while being processed (...)`` (the next scan takes the new content in).
"""

import os
from datetime import UTC, datetime

import dagster as dg

from catalogue.inventory import InputChanged, discard_if_changed, printable, regular_file_problem
from catalogue.store import stems_data_version
from separation.audio import AudioError

from .records import TrackPartition, permanent_failure, required
from .track_batch import StepResult, TrackStep


def fail_if_changed(source: str, track: dict, outputs: list[str | os.PathLike]) -> None:
    """Fail the track if ``source`` no longer holds its content; ``outputs`` computed from
    other content are removed rather than recorded for this track."""
    try:
        discard_if_changed(source, track["sha256"], outputs)
    except InputChanged as exc:
        raise permanent_failure(str(exc)) from exc


def stems(part: TrackPartition, code_version: str) -> StepResult:
    """Separate the track into stems with the configured Spleeter model (on the GPU when
    present). Stems are written at the input's rate, one file each, atomically."""
    store, settings = part.store, part.settings
    track = required(store.track_record)
    source = store.input_file(track)
    problem = regular_file_problem(source)  # a FIFO or device would block the decoder
    if problem:
        raise permanent_failure(f"{track['path']}: {problem}")
    separator = part.engine.separator()
    try:
        result = separator.separate_to_file(
            source,
            store.stems_dir,
            filename_format="{instrument}.{codec}",
            codec=settings.codec,
        )
    except AudioError as exc:  # the file itself is bad: retrying cannot help
        fail_if_changed(source, track, [])
        raise permanent_failure(printable(str(exc))) from exc
    written = [*result.stems.values(), store.stems_table_path]
    fail_if_changed(source, track, written)
    checkpoint = separator.model_files.checkpoint_sha256
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
    the checkpoint it is expected to load and the options, and reads nothing from disk)."""
    return TrackStep(
        "stems",
        lambda part: stems(part, code_version),
        code_version=code_version,
        description=stems.__doc__,
        deps=("track_audio",),
        group_name="separation",
        kinds=frozenset({"keras", "flac"}),
    )
