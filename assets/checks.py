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
catalogue_matches_parquet   ERROR    every view of ``catalogue.duckdb`` has as many rows as its
                                     Parquet files, which are all readable, on a stable snapshot
                                     (WARN if other runs kept writing)
=========================== ======== =========================================================
"""

import glob
import os
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import soundfile as sf

from catalogue.integrity import DamagedFileError, parquet_problem, read_checked
from catalogue.schema import STORED_TABLES
from resources.settings import StemlineSettings
from separation.configs import load_config
from separation.residual import residual_band_hz

from .partitions import tracks_partitions
from .records import partition_track_id, stem_rows, track_record


def track_check(**kwargs):
    """``dg.asset_check`` of one track partition (``tracks_partitions``).

    Partitioned asset checks are a preview API in Dagster 1.13 that stemline relies on
    knowingly: its ``PreviewWarning`` is silenced while each check is defined, and nowhere else.
    """

    def decorate(fn):
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", category=dg.PreviewWarning, message=".*partitions_def.*"
            )
            return dg.asset_check(partitions_def=tracks_partitions, **kwargs)(fn)

    return decorate


RESIDUAL_LIMIT_DB = -50.0
COVER_TOLERANCE_S = 0.05
FRAMES_PER_S = 100
STABLE_ATTEMPTS = 10
#: Sample formats that cannot hold NaN or infinity, so their samples need no finiteness scan.
INTEGER_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32"})


def _unreadable(path: str, exc: Exception) -> str:
    """``missing`` or ``unreadable (<why>)`` for a stem file the check could not open."""
    if not os.path.exists(path):
        return "missing"
    return f"unreadable ({' '.join(str(exc).split())})"


@track_check(asset="stems", blocking=True)
def stems_are_sound(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """Each stem has the mixture's sample count and rate and only finite samples."""
    layout = settings.layout
    track_id = partition_track_id(context)
    track = track_record(layout, track_id)
    problems = []
    for row in stem_rows(layout, settings.model_name, track_id):
        try:
            info = sf.info(row["path"])
        except (sf.LibsndfileError, OSError) as exc:
            problems.append(f"{row['stem']}: {row['path']} is {_unreadable(row['path'], exc)}")
            continue
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
        description="; ".join(problems) or None,
        metadata={"problems": dg.MetadataValue.json(problems)},
    )


def sum_residual(settings: StemlineSettings, track_id: str) -> tuple[float, float]:
    """In-band residual of the track's stems summed against its mixture: ``(dB, band edge in
    Hz)``.

    The ``stems`` step measures it while it writes the stems (the mixture samples it read
    against the stem samples it wrote) and records it in the stems table. NaN, which fails
    the check, when the stems do not agree on one recorded value."""
    layout = settings.layout
    track = track_record(layout, track_id)
    rows = stem_rows(layout, settings.model_name, track_id)
    band = residual_band_hz(load_config(settings.model), int(track["sample_rate"]))
    recorded = {row.get("mixture_residual_db") for row in rows}
    if len(recorded) != 1 or None in recorded:
        return float("nan"), band
    return float(recorded.pop()), band


@track_check(asset="stems")
def stems_sum_to_mixture(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """The stems add up to the mixture in the band the masks cover (everything with
    ``mask_extension: average``, below the model's cutoff with ``zeros``)."""
    residual_db, band = sum_residual(settings, partition_track_id(context))
    passed = bool(residual_db <= RESIDUAL_LIMIT_DB)
    return dg.AssetCheckResult(
        passed=passed,
        severity=dg.AssetCheckSeverity.WARN,
        description=None
        if passed
        else f"the stems miss the mixture by {residual_db:.1f} dB below {band:.0f} Hz "
        f"(limit {RESIDUAL_LIMIT_DB:.1f} dB)",
        metadata={
            "residual_db": residual_db,
            "limit_db": RESIDUAL_LIMIT_DB,
            "band_hz": band,
            "mask_extension": load_config(settings.model).mask_extension,
        },
    )


@track_check(asset="stems")
def stems_not_clipped(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """Reports stems that were clipped at full scale when written."""
    rows = stem_rows(settings.layout, settings.model_name, partition_track_id(context))
    clipped = {r["stem"]: r["clipped_samples"] for r in rows if r["clipped_samples"]}
    return dg.AssetCheckResult(
        passed=not clipped,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(f"{stem}: {n} samples clipped" for stem, n in clipped.items())
        or None,
        metadata={"clipped_samples": dg.MetadataValue.json(clipped)},
    )


@track_check(asset="stem_features", blocking=True)
def features_cover_stems(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """Every stem's features span its whole duration (silent stems excepted for pitch)."""
    layout = settings.layout
    track_id = partition_track_id(context)
    problems = []
    for row in stem_rows(layout, settings.model_name, track_id):
        stem = row["stem"]
        try:
            summary = read_checked(layout.features("summary", track_id, settings.model_name, stem))
            pitch = None
            if not summary["is_silent"][0]:
                pitch = read_checked(layout.features("pitch", track_id, settings.model_name, stem))
        except DamagedFileError as exc:  # missing or unreadable: named, not a crash
            problems.append(f"{stem}: {exc}")
            continue
        if abs(summary["duration_s"][0] - row["duration_s"]) > COVER_TOLERANCE_S:
            problems.append(
                f"{stem}: summary covers {summary['duration_s'][0]:.2f} s "
                f"of {row['duration_s']:.2f} s"
            )
        if pitch is None:
            continue
        expected = row["duration_s"] * FRAMES_PER_S
        if abs(pitch.height - expected) > 2 + COVER_TOLERANCE_S * FRAMES_PER_S:  # none too
            problems.append(f"{stem}: {pitch.height} pitch frames for {row['duration_s']:.2f} s")
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or None,
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


def _stored_rows(layout) -> tuple[dict[str, int], list[str]]:
    """Rows in each stored table's Parquet files, and each file that cannot be read, as
    ``"<path> is unreadable (<why>)"``."""
    rows, unreadable = {}, []
    for table in STORED_TABLES:
        rows[table.name] = 0
        for f in sorted(glob.glob(layout.glob(table.glob))):
            try:
                rows[table.name] += pl.scan_parquet(f).select(pl.len()).collect().item()
            except (OSError, pl.exceptions.PolarsError) as exc:
                why = parquet_problem(Path(f)) or f"unreadable ({' '.join(str(exc).split())})"
                unreadable.append(f"{f} is {why}")
    return rows, unreadable


def _catalogue_rows(path: Path) -> dict[str, int | None]:
    """Rows each stored table's view in ``catalogue.duckdb`` returns (None where the view
    fails). Read from a private copy: no lock on the file, and DuckDB cannot open a path
    with a ``?``."""
    with tempfile.TemporaryDirectory(prefix="stemline-check-") as work:
        copy = Path(work) / "catalogue.duckdb"
        shutil.copyfile(path, copy)
        con = duckdb.connect(str(copy), read_only=True)
        try:
            rows: dict[str, int | None] = {}
            for table in STORED_TABLES:
                count = f"SELECT count(*) FROM {table.name}"
                try:
                    rows[table.name] = con.execute(count).fetchone()[0]
                except duckdb.Error:
                    rows[table.name] = None
            return rows
        finally:
            con.close()


@dg.asset_check(asset="catalogue", blocking=True)
def catalogue_matches_parquet(settings: StemlineSettings) -> dg.AssetCheckResult:
    """Each view of ``catalogue.duckdb`` returns exactly the rows stored in its Parquet files,
    compared on a stable snapshot: other runs may be writing partitions at the same time, so
    the counts are taken again until no file changed while counting. An unreadable Parquet
    file fails the check, named."""
    layout = settings.layout
    if not layout.catalogue.is_file():
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.ERROR,
            description=f"{layout.catalogue} is missing; materialise catalogue",
        )
    for _ in range(STABLE_ATTEMPTS):
        before = _snapshot(layout)
        seen = _catalogue_rows(layout.catalogue)
        stored, unreadable = _stored_rows(layout)
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
    shown = [
        f"{k}: the catalogue shows {'no' if n is None else n} rows"
        f"{' (its view fails)' if n is None else ''}, its Parquet files hold {m}"
        for k, (n, m) in mismatched.items()
    ]
    # An unreadable file explains its table's mismatch: name the file first.
    problems = unreadable + shown
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{problems[0]}{more}" if problems else None,
        metadata={
            "rows": dg.MetadataValue.json(seen),
            "mismatched": dg.MetadataValue.json(mismatched),
            "unreadable_files": dg.MetadataValue.json(unreadable),
        },
    )
