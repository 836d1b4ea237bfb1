"""Asset checks. The track checks are evaluated inside the batch step, right after the asset
they check (:data:`TRACK_CHECKS`): a failed ERROR check stops its track there (the assets
downstream are not computed for it, and its partition fails); WARN checks only report (a
clipped stem is still a stem).

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

import dagster as dg

from catalogue.consistency import STABLE_ATTEMPTS, compare_row_counts
from catalogue.store import DamagedFileError, TrackStore
from features.coverage import coverage_problems
from resources.settings import StemlineSettings
from separation.configs import load_config
from separation.inspection import stem_problems
from separation.residual import RESIDUAL_LIMIT_DB, recorded_residual_db, residual_band_hz

from .records import TrackPartition, required
from .track_step import TrackCheck


def _problems_result(problems: list[str]) -> dg.AssetCheckResult:
    """An ERROR check's result: passed without problems, else all of them, joined by ``; ``."""
    return dg.AssetCheckResult(
        passed=not problems,
        severity=dg.AssetCheckSeverity.ERROR,
        description="; ".join(problems) or None,
        metadata={"problems": dg.MetadataValue.json(problems)},
    )


def stems_are_sound(part: TrackPartition) -> dg.AssetCheckResult:
    """Each stem has the mixture's sample count and rate and only finite samples."""
    store = part.store
    track = required(store.track_record)
    stems = {r["stem"]: r["path"] for r in required(store.stem_rows)}
    return _problems_result(stem_problems(stems, track["n_samples"], track["sample_rate"]))


def sum_residual(settings: StemlineSettings, store: TrackStore) -> tuple[float, float]:
    """In-band residual of the track's stems summed against its mixture: ``(dB, band edge in
    Hz)``, as the ``stems`` step measured and recorded it while writing the stems
    (:func:`~separation.residual.recorded_residual_db`)."""
    track = required(store.track_record)
    rows = required(store.stem_rows)
    band = residual_band_hz(load_config(settings.model), int(track["sample_rate"]))
    return recorded_residual_db(row.get("mixture_residual_db") for row in rows), band


def stems_sum_to_mixture(part: TrackPartition) -> dg.AssetCheckResult:
    """The stems add up to the mixture in the band the masks cover (everything with
    ``mask_extension: average``, below the model's cutoff with ``zeros``)."""
    settings = part.settings
    residual_db, band = sum_residual(settings, part.store)
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


def stems_not_clipped(part: TrackPartition) -> dg.AssetCheckResult:
    """Reports stems that were clipped at full scale when written."""
    rows = required(part.store.stem_rows)
    clipped = {r["stem"]: r["clipped_samples"] for r in rows if r["clipped_samples"]}
    return dg.AssetCheckResult(
        passed=not clipped,
        severity=dg.AssetCheckSeverity.WARN,
        description="; ".join(f"{stem}: {n} samples clipped" for stem, n in clipped.items())
        or None,
        metadata={"clipped_samples": dg.MetadataValue.json(clipped)},
    )


def features_cover_stems(part: TrackPartition) -> dg.AssetCheckResult:
    """Every stem's features span its whole duration (silent stems excepted for pitch)."""
    store = part.store
    problems = []
    for row in required(store.stem_rows):
        stem = row["stem"]
        try:
            summary = store.feature_table("summary", stem)
            pitch = None
            if not summary["is_silent"][0]:
                pitch = store.feature_table("pitch", stem)
        except DamagedFileError as exc:  # missing or unreadable: named, not a crash
            problems.append(f"{stem}: {exc}")
            continue
        problems += [f"{stem}: {p}" for p in coverage_problems(row["duration_s"], summary, pitch)]
    return _problems_result(problems)


#: The checks of each track asset, evaluated in the batch step right after the asset
#: (:mod:`assets.track_batch`); a failed blocking check stops the track there.
TRACK_CHECKS = {
    "stems": (
        TrackCheck("stems_are_sound", stems_are_sound.__doc__, stems_are_sound, blocking=True),
        TrackCheck("stems_sum_to_mixture", stems_sum_to_mixture.__doc__, stems_sum_to_mixture),
        TrackCheck("stems_not_clipped", stems_not_clipped.__doc__, stems_not_clipped),
    ),
    "stem_features": (
        TrackCheck(
            "features_cover_stems", features_cover_stems.__doc__, features_cover_stems, True
        ),
    ),
}


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
