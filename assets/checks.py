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

Each check loads what it checks and hands it to the library that knows what "sound" means
there: :func:`separation.inspection.stem_problems`,
:func:`separation.residual.recorded_residual_db`, :func:`features.coverage.coverage_problems`
and :func:`catalogue.consistency.compare_row_counts`.
"""

import warnings

import dagster as dg

from catalogue.consistency import STABLE_ATTEMPTS, compare_row_counts
from catalogue.integrity import DamagedFileError, read_checked
from features.coverage import coverage_problems
from resources.settings import StemlineSettings
from separation.configs import load_config
from separation.inspection import stem_problems
from separation.residual import RESIDUAL_LIMIT_DB, recorded_residual_db, residual_band_hz

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


def _problems_result(problems: list[str]) -> dg.AssetCheckResult:
    """An ERROR check's result: passed without problems, else all of them, joined by ``; ``."""
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or None,
        metadata={"problems": dg.MetadataValue.json(problems)},
    )


@track_check(asset="stems", blocking=True)
def stems_are_sound(
    context: dg.AssetCheckExecutionContext, settings: StemlineSettings
) -> dg.AssetCheckResult:
    """Each stem has the mixture's sample count and rate and only finite samples."""
    layout = settings.layout
    track_id = partition_track_id(context)
    track = track_record(layout, track_id)
    stems = {r["stem"]: r["path"] for r in stem_rows(layout, settings.model_name, track_id)}
    return _problems_result(stem_problems(stems, track["n_samples"], track["sample_rate"]))


def sum_residual(settings: StemlineSettings, track_id: str) -> tuple[float, float]:
    """In-band residual of the track's stems summed against its mixture: ``(dB, band edge in
    Hz)``, as the ``stems`` step measured and recorded it while writing the stems
    (:func:`~separation.residual.recorded_residual_db`)."""
    track = track_record(settings.layout, track_id)
    rows = stem_rows(settings.layout, settings.model_name, track_id)
    band = residual_band_hz(load_config(settings.model), int(track["sample_rate"]))
    return recorded_residual_db(row.get("mixture_residual_db") for row in rows), band


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
    layout, model = settings.layout, settings.model_name
    track_id = partition_track_id(context)
    problems = []
    for row in stem_rows(layout, model, track_id):
        stem = row["stem"]
        try:
            summary = read_checked(layout.features("summary", track_id, model, stem))
            pitch = None
            if not summary["is_silent"][0]:
                pitch = read_checked(layout.features("pitch", track_id, model, stem))
        except DamagedFileError as exc:  # missing or unreadable: named, not a crash
            problems.append(f"{stem}: {exc}")
            continue
        problems += [f"{stem}: {p}" for p in coverage_problems(row["duration_s"], summary, pitch)]
    return _problems_result(problems)


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
    counts = compare_row_counts(layout)
    if counts is None:
        return dg.AssetCheckResult(
            passed=False,
            severity=dg.AssetCheckSeverity.WARN,
            description=f"files kept changing during {STABLE_ATTEMPTS} attempts (concurrent "
            "writers); run the check again when they are done",
        )
    problems = counts.problems
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description=f"{problems[0]}{more}" if problems else None,
        metadata={
            "rows": dg.MetadataValue.json(counts.seen),
            "mismatched": dg.MetadataValue.json(counts.mismatched),
            "unreadable_files": dg.MetadataValue.json(counts.unreadable),
        },
    )
