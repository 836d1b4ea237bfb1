"""Asset checks. ERROR checks block the assets downstream of a bad partition; WARN checks only
report (a clipped stem is still a stem).

=========================== ======== =========================================================
check                       severity passes when
=========================== ======== =========================================================
stems_are_sound             ERROR    every stem file has the mixture's length and rate, and no
                                     NaN/Inf
stems_sum_to_mixture        WARN     the stems add back up to the mixture within -50 dB residual
                                     energy, in the band the masks cover: the whole band with
                                     ``mask_extension: average``, below the 11 kHz / 16.5 kHz
                                     cutoff with ``zeros`` (which removes everything above it
                                     from every stem by design); measured by the ``stems`` step
                                     as it writes (``separation.residual``)
stems_not_clipped           WARN     no stem sample was clipped when written
features_cover_stems        ERROR    every stem has a summary of its full duration (±50 ms) and,
                                     unless silent, pitch frames for that duration at 100/s
catalogue_matches_parquet   ERROR    every catalogue view has as many rows as its Parquet files,
                                     on a stable snapshot (WARN if other runs kept writing)
=========================== ======== =========================================================
"""

import glob
import os
import time
import warnings

import dagster as dg
import numpy as np
import polars as pl
import soundfile as sf

from catalogue.integrity import read_checked
from catalogue.query import row_counts
from catalogue.schema import STORED_TABLES
from separation.configs import load_config
from separation.residual import band_residual_db, residual_band_hz

from .partitions import tracks_partitions
from .records import input_file, partition_track_id, stem_rows, track_record
from .settings import StemlineSettings

# Partitioned asset checks are a preview API in Dagster 1.13; stemline relies on them knowingly.
warnings.filterwarnings("ignore", category=dg.PreviewWarning, message=".*partitions_def.*")

RESIDUAL_LIMIT_DB = -50.0
COVER_TOLERANCE_S = 0.05
FRAMES_PER_S = 100
STABLE_ATTEMPTS = 10
#: Sample formats that cannot hold NaN or infinity, so their samples need no finiteness scan.
INTEGER_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32"})


@dg.asset_check(asset="stems", blocking=True, partitions_def=tracks_partitions)
def stems_are_sound(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """Each stem has the mixture's sample count and rate and only finite samples."""
    layout = settings.layout
    track_id = partition_track_id(context)
    track = track_record(layout, track_id)
    problems = []
    for row in stem_rows(layout, settings.model_name, track_id):
        info = sf.info(row["path"])
        if info.frames != track["n_samples"] or info.samplerate != track["sample_rate"]:
            problems.append(
                f"{row['stem']}: {info.frames} samples at {info.samplerate} Hz, "
                f"mixture {track['n_samples']} at {track['sample_rate']} Hz"
            )
        if info.subtype in INTEGER_SUBTYPES:
            continue  # integer samples are finite by construction: no need to decode them
        data, _ = sf.read(row["path"], dtype="float32")
        if not np.isfinite(data).all():
            problems.append(f"{row['stem']}: NaN or infinite samples")
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"problems": dg.MetadataValue.json(problems)},
    )


def sum_residual(settings: StemlineSettings, track_id: str) -> tuple[float, float, str]:
    """In-band residual of the track's stems summed against its mixture: ``(dB, band edge in
    Hz, how it was measured)``.

    The ``stems`` step measures it while it writes the stems (the mixture samples it read
    against the stem samples it wrote) and records it in the stems table; stems written before
    that measurement existed are decoded and compared here instead."""
    layout = settings.layout
    track = track_record(layout, track_id)
    rows = stem_rows(layout, settings.model_name, track_id)
    cfg = load_config(settings.model)
    recorded = {row.get("mixture_residual_db") for row in rows}
    if len(recorded) == 1 and None not in recorded:
        band = residual_band_hz(cfg, int(track["sample_rate"]))
        return float(recorded.pop()), band, "while writing the stems"
    mixture = os.fsencode(input_file(layout, track))  # bytes: names need not be UTF-8
    mix, rate = sf.read(mixture, dtype="float32", always_2d=True)
    mix = np.repeat(mix, 2, axis=1) if mix.shape[1] == 1 else mix[:, :2]
    total = np.zeros(mix.shape, np.float32)  # exact for 16-bit stems
    for row in rows:
        data, _ = sf.read(row["path"], dtype="float32", always_2d=True)
        total[: len(data)] += data[: len(total)]
    band = residual_band_hz(cfg, rate)
    return band_residual_db(mix, total, rate, band), band, "from the files"


@dg.asset_check(asset="stems", partitions_def=tracks_partitions)
def stems_sum_to_mixture(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """The stems add up to the mixture in the band the masks cover (everything with
    ``mask_extension: average``, below the model's cutoff with ``zeros``)."""
    residual_db, band, measured = sum_residual(settings, partition_track_id(context))
    return dg.AssetCheckResult(
        passed=bool(residual_db <= RESIDUAL_LIMIT_DB),
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "residual_db": residual_db,
            "limit_db": RESIDUAL_LIMIT_DB,
            "band_hz": band,
            "mask_extension": load_config(settings.model).mask_extension,
            "measured": measured,
        },
    )


@dg.asset_check(asset="stems", partitions_def=tracks_partitions)
def stems_not_clipped(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """Reports stems that were clipped at full scale when written."""
    rows = stem_rows(settings.layout, settings.model_name, partition_track_id(context))
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
    track_id = partition_track_id(context)
    problems = []
    for row in stem_rows(layout, settings.model_name, track_id):
        stem = row["stem"]
        summary = read_checked(layout.features("summary", track_id, settings.model_name, stem))
        if abs(summary["duration_s"][0] - row["duration_s"]) > COVER_TOLERANCE_S:
            problems.append(
                f"{stem}: summary covers {summary['duration_s'][0]:.2f} s "
                f"of {row['duration_s']:.2f} s"
            )
        if summary["is_silent"][0]:
            continue
        pitch = read_checked(layout.features("pitch", track_id, settings.model_name, stem))
        expected = row["duration_s"] * FRAMES_PER_S
        if pitch.height and abs(pitch.height - expected) > 2 + COVER_TOLERANCE_S * FRAMES_PER_S:
            problems.append(f"{stem}: {pitch.height} pitch frames for {row['duration_s']:.2f} s")
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={"problems": dg.MetadataValue.json(problems)},
    )


def _snapshot(layout) -> dict[str, tuple[int, int]]:
    """Every catalogue Parquet file with its mtime and size."""
    snap = {}
    for table in STORED_TABLES:
        for f in glob.glob(layout.glob(table.glob)):
            try:
                st = os.stat(f)
            except FileNotFoundError:  # replaced or removed while listing
                continue
            snap[f] = (st.st_mtime_ns, st.st_size)
    return snap


@dg.asset_check(asset="catalogue", blocking=True)
def catalogue_matches_parquet(settings: StemlineSettings) -> dg.AssetCheckResult:
    """Each catalogue view returns exactly the rows stored in its Parquet files, compared on a
    stable snapshot: other runs may be writing partitions at the same time, so the counts are
    taken again until no file changed while counting."""
    layout = settings.layout
    for _ in range(STABLE_ATTEMPTS):
        before = _snapshot(layout)
        seen = row_counts(layout.root)
        stored = {}
        for table in STORED_TABLES:
            files = glob.glob(layout.glob(table.glob))
            stored[table.name] = sum(
                pl.scan_parquet(f).select(pl.len()).collect().item() for f in files
            )
        if _snapshot(layout) == before:
            break
        time.sleep(1.0)
    else:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"files kept changing during {STABLE_ATTEMPTS} attempts (concurrent "
            "writers); run the check again when they are done",
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
