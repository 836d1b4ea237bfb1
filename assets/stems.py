"""``stems``: separate a track with the configured Spleeter model, one file per stem.

What is separated must be the track the scan hashed: the input is hashed again after
separation, and if it changed meanwhile the stems just written are removed and the step fails
with ``<path>: changed while being processed (...)`` (the next scan takes the new content in).
"""

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import polars as pl

from catalogue.inventory import InputChanged, check_unchanged, printable, regular_file_problem
from catalogue.layout import StorageLayout, write_parquet
from catalogue.schema import STEM_SCHEMA
from resources.separation_engine import SeparationEngine
from resources.settings import StemlineSettings
from separation.audio import AudioError

from .partitions import tracks_partitions
from .records import (
    TRANSIENT_RETRIES,
    input_file,
    partition_track_id,
    permanent_failure,
    record_run,
    track_record,
)


def fail_if_changed(
    context: dg.AssetExecutionContext,
    layout: StorageLayout,
    model: str,
    track: dict,
    source: str,
    written: list[str | os.PathLike],
) -> None:
    """Fail the step if ``source`` no longer holds the track's content; stems separated from
    other content are removed (with the stems table) rather than recorded for this track."""
    try:
        check_unchanged(source, track["sha256"])
    except InputChanged as exc:
        if written:
            for path in written:
                Path(path).unlink(missing_ok=True)
            layout.stems_table(model, track["track_id"]).unlink(missing_ok=True)
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
        layout = settings.layout
        track_id = partition_track_id(context)
        track = track_record(layout, track_id)
        source = input_file(layout, track)
        problem = regular_file_problem(source)  # a FIFO or device would block the decoder
        if problem:
            raise permanent_failure(f"{track['path']}: {problem}")
        separator = engine.separator()
        out_dir = layout.stems_dir(settings.model_name, track_id)
        try:
            result = separator.separate_to_file(
                source,
                out_dir,
                filename_format="{instrument}.{codec}",
                codec=settings.codec,
            )
        except AudioError as exc:  # the file itself is bad: retrying cannot help
            fail_if_changed(context, layout, settings.model_name, track, source, [])
            raise permanent_failure(printable(str(exc))) from exc
        written = list(result.stems.values())
        fail_if_changed(context, layout, settings.model_name, track, source, written)
        now = datetime.now(UTC)
        rows = []
        for stem, path in result.stems.items():
            rms, peak = result.levels_dbfs[stem]  # measured while writing, no re-read
            rows.append(
                {
                    "track_id": track_id,
                    "model": settings.model_name,
                    "stem": stem,
                    "path": str(path),
                    "codec": settings.codec,
                    "checkpoint_sha256": separator.model_files.checkpoint_sha256,
                    "code_version": code_version,
                    "duration_s": result.duration_s,
                    "sample_rate": result.sample_rate,
                    "rms_dbfs": rms,
                    "peak_dbfs": peak,
                    "clipped_samples": result.clipped_samples.get(stem, 0),
                    "mixture_residual_db": result.mixture_residual_db,
                    "separation_s": result.seconds,
                    "written_at": now,
                    "run_id": context.run.run_id,
                }
            )
        table = pl.DataFrame(rows, schema=STEM_SCHEMA)
        write_parquet(table, layout.stems_table(settings.model_name, track_id))
        record_run(context, layout, "stems")
        speed = result.duration_s / result.seconds if result.seconds else float("nan")
        context.log.info(f"separated {track['path']} in {result.seconds:.1f} s ({speed:.1f}x)")
        checkpoint = separator.model_files.checkpoint_sha256
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
