"""``stems``: separate a track with the configured Spleeter model, one file per stem.

What is separated must be the track the scan hashed: the input is hashed again after
separation, and if it changed meanwhile the stems just written are removed and the step fails
with ``<path>: changed while being processed (...)`` (the next scan takes the new content in).
"""

import hashlib
import os
from datetime import UTC, datetime

import dagster as dg

from catalogue.inventory import InputChanged, discard_if_changed, printable, regular_file_problem
from catalogue.layout import write_parquet
from catalogue.schema import stem_table
from resources.separation_engine import SeparationEngine
from resources.settings import StemlineSettings
from separation.audio import AudioError

from .partitions import tracks_partitions
from .records import (
    TRANSIENT_RETRIES,
    input_file,
    permanent_failure,
    record_run,
    track_partition,
    track_record,
)


def fail_if_changed(
    context: dg.AssetExecutionContext, source: str, track: dict, outputs: list[str | os.PathLike]
) -> None:
    """Fail the step if ``source`` no longer holds the track's content; ``outputs`` computed
    from other content are removed rather than recorded for this track."""
    try:
        discard_if_changed(source, track["sha256"], outputs)
    except InputChanged as exc:
        context.log.error(str(exc))
        raise permanent_failure(str(exc)) from exc


def stems_data_version(track_sha256: str, checkpoint_sha256: str, code_version: str) -> str:
    """The stems' data version: what they were computed from (the track's content, the
    checkpoint actually loaded, the code version), so that new weights under the same model
    name make everything computed from the stems stale."""
    text = f"{track_sha256}\n{checkpoint_sha256}\n{code_version}"
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def make_stems_asset(engine_config: SeparationEngine) -> dg.AssetsDefinition:
    """The stems asset for the engine configured as ``engine_config``; its code version
    (:meth:`~resources.separation_engine.SeparationEngine.code_version`) names the model, the
    checkpoint it is expected to load and the options, and reads nothing from disk."""
    code_version = engine_config.code_version()

    @dg.asset(
        name="stems",
        partitions_def=tracks_partitions,
        deps=["track_audio"],
        group_name="separation",
        kinds={"tensorflow", "flac"},
        pool="separation",
        code_version=code_version,
        retry_policy=TRANSIENT_RETRIES,
    )
    def stems(
        context: dg.AssetExecutionContext, settings: StemlineSettings, engine: SeparationEngine
    ) -> dg.MaterializeResult:
        """Separate the track into stems with the configured Spleeter model (TensorFlow, on the
        GPU when present). Stems are written at the input's rate, one file each, atomically."""
        layout, track_id, model = track_partition(context, settings)
        track = track_record(layout, track_id)
        source = input_file(layout, track)
        problem = regular_file_problem(source)  # a FIFO or device would block the decoder
        if problem:
            raise permanent_failure(f"{track['path']}: {problem}")
        separator = engine.separator()
        out_dir = layout.stems_dir(model, track_id)
        try:
            result = separator.separate_to_file(
                source,
                out_dir,
                filename_format="{instrument}.{codec}",
                codec=settings.codec,
            )
        except AudioError as exc:  # the file itself is bad: retrying cannot help
            fail_if_changed(context, source, track, [])
            raise permanent_failure(printable(str(exc))) from exc
        written = [*result.stems.values(), layout.stems_table(model, track_id)]
        fail_if_changed(context, source, track, written)
        checkpoint = separator.model_files.checkpoint_sha256
        table = stem_table(
            result.stems,
            result.levels_dbfs,  # measured while writing, no re-read
            result.clipped_samples,
            track_id=track_id,
            model=model,
            codec=settings.codec,
            checkpoint_sha256=checkpoint,
            code_version=code_version,
            duration_s=result.duration_s,
            sample_rate=result.sample_rate,
            mixture_residual_db=result.mixture_residual_db,
            separation_s=result.seconds,
            written_at=datetime.now(UTC),
            run_id=context.run.run_id,
        )
        write_parquet(table, layout.stems_table(model, track_id))
        record_run(context, layout, "stems")
        speed = result.duration_s / result.seconds if result.seconds else float("nan")
        context.log.info(f"separated {track['path']} in {result.seconds:.1f} s ({speed:.1f}x)")
        return dg.MaterializeResult(
            data_version=dg.DataVersion(
                stems_data_version(track["sha256"], checkpoint, code_version)
            ),
            metadata={
                "model": settings.model,
                "checkpoint_sha256": checkpoint,
                "stems": dg.MetadataValue.json({s: os.fspath(p) for s, p in result.stems.items()}),
                "seconds": result.seconds,
                "x_realtime": speed,
                "clipped_samples": sum(result.clipped_samples.values()),
            },
        )

    return stems
