"""Asset checks. ERROR checks block the assets downstream of a bad partition; WARN checks only
report (a clipped stem is still a stem).

=========================== ======== =========================================================
check                       severity passes when
=========================== ======== =========================================================
stems_are_sound             ERROR    every stem file has the mixture's length and rate, and no
                                     NaN/Inf
stems_sum_to_mixture        WARN     the stems add back up to the mixture: residual energy at
                                     most -60 dB relative with ``mask_extension: average``,
                                     -15 dB with ``zeros`` (which removes everything above the
                                     11 kHz / 16.5 kHz cutoff from every stem by design)
stems_not_clipped           WARN     no stem sample was clipped when written
features_cover_stems        ERROR    every stem has a summary of its full duration (±50 ms) and,
                                     unless silent, pitch frames for that duration at 100/s
catalogue_matches_parquet   ERROR    every catalogue view has as many rows as its Parquet files
=========================== ======== =========================================================
"""

import glob
import warnings

import dagster as dg
import numpy as np
import polars as pl
import soundfile as sf

from catalogue.query import row_counts
from catalogue.schema import STORED_TABLES
from separation.configs import load_config

from .partitions import tracks_partitions
from .records import stem_rows, track_record
from .settings import StemlineSettings

# Partitioned asset checks are a preview API in Dagster 1.13; stemline relies on them knowingly.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def.*")

RESIDUAL_LIMIT_DB = {"average": -60.0, "zeros": -15.0}
COVER_TOLERANCE_S = 0.05
FRAMES_PER_S = 100


@dg.asset_check(asset="stems", blocking=True, partitions_def=tracks_partitions)
def stems_are_sound(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """Each stem has the mixture's sample count and rate and only finite samples."""
    layout = settings.layout
    track = track_record(layout, context.partition_key)
    problems = []
    for row in stem_rows(layout, settings.model_name, context.partition_key):
        info = sf.info(row["path"])
        if info.frames != track["n_samples"] or info.samplerate != track["sample_rate"]:
            problems.append(
                f"{row['stem']}: {info.frames} samples at {info.samplerate} Hz, "
                f"mixture {track['n_samples']} at {track['sample_rate']} Hz"
            )
        data, _ = sf.read(row["path"], dtype="float32")
        if not np.isfinite(data).all():
            problems.append(f"{row['stem']}: NaN or infinite samples")
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"problems": dg.MetadataValue.json(problems)},
    )


@dg.asset_check(asset="stems", partitions_def=tracks_partitions)
def stems_sum_to_mixture(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """The stems add up to the mixture within the tolerance of the mask extension."""
    layout = settings.layout
    track = track_record(layout, context.partition_key)
    mix, _ = sf.read(track["path"], dtype="float32", always_2d=True)
    if mix.shape[1] == 1:
        mix = np.repeat(mix, 2, axis=1)
    total = np.zeros((len(mix), 2), np.float64)
    for row in stem_rows(layout, settings.model_name, context.partition_key):
        data, _ = sf.read(row["path"], dtype="float32", always_2d=True)
        total[: len(data)] += data[: len(total)]
    reference = mix[:, :2].astype(np.float64)
    energy = float(np.sum(reference**2))
    residual_db = float(
        10 * np.log10(max(np.sum((reference - total) ** 2), 1e-20) / max(energy, 1e-20))
    )
    extension = load_config(settings.model).mask_extension
    limit = RESIDUAL_LIMIT_DB[extension]
    return dg.AssetCheckResult(
        passed=bool(energy == 0 or residual_db <= limit),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"residual_db": residual_db, "limit_db": limit, "mask_extension": extension},
    )


@dg.asset_check(asset="stems", partitions_def=tracks_partitions)
def stems_not_clipped(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """Reports stems that were clipped at full scale when written."""
    rows = stem_rows(settings.layout, settings.model_name, context.partition_key)
    clipped = {r["stem"]: r["clipped_samples"] for r in rows if r["clipped_samples"]}
    return dg.AssetCheckResult(
        passed=not clipped,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"clipped_samples": dg.MetadataValue.json(clipped)},
    )


@dg.asset_check(asset="stem_features", blocking=True, partitions_def=tracks_partitions)
def features_cover_stems(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """Every stem's features span its whole duration (silent stems excepted for pitch)."""
    layout = settings.layout
    problems = []
    for row in stem_rows(layout, settings.model_name, context.partition_key):
        stem = row["stem"]
        summary = pl.read_parquet(
            layout.features("summary", context.partition_key, settings.model_name, stem)
        )
        if abs(summary["duration_s"][0] - row["duration_s"]) > COVER_TOLERANCE_S:
            problems.append(
                f"{stem}: summary covers {summary['duration_s'][0]:.2f} s "
                f"of {row['duration_s']:.2f} s"
            )
        if summary["is_silent"][0]:
            continue
        pitch = pl.read_parquet(
            layout.features("pitch", context.partition_key, settings.model_name, stem)
        )
        expected = row["duration_s"] * FRAMES_PER_S
        if pitch.height and abs(pitch.height - expected) > 2 + COVER_TOLERANCE_S * FRAMES_PER_S:
            problems.append(f"{stem}: {pitch.height} pitch frames for {row['duration_s']:.2f} s")
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"problems": dg.MetadataValue.json(problems)},
    )


@dg.asset_check(asset="catalogue", blocking=True)
def catalogue_matches_parquet(settings: StemlineSettings) -> dg.AssetCheckResult:
    """Each catalogue view returns exactly the rows stored in its Parquet files."""
    layout = settings.layout
    seen = row_counts(layout.root)
    stored = {}
    for table in STORED_TABLES:
        files = glob.glob(layout.glob(table.glob))
        stored[table.name] = sum(
            pl.scan_parquet(f).select(pl.len()).collect().item() for f in files
        )
    mismatched = {k: (seen[k], stored[k]) for k in stored if seen[k] != stored[k]}
    return dg.AssetCheckResult(
        passed=not mismatched,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "rows": dg.MetadataValue.json(seen),
            "mismatched": dg.MetadataValue.json(mismatched),
        },
    )
