"""One run, many tracks: the track assets computed for a batch of partitions in one step.

A run of the track assets covers a range of partitions (a UI backfill cut by the assets'
backfill policy, a sensor tick, ``stemline run``; see :mod:`assets.batches`). Its one step runs
the selected assets in dependency order, each over every track of the batch that has not failed
yet, so the model is loaded and the feature workers started once per batch, and the asset
checks are evaluated right after the asset they check, in the same process. A step with a batch
hook (:attr:`TrackStep.run_many`: the stems, whose segments share model calls across tracks)
computes its tracks together; each track is still recorded, checked and failed on its own, as
soon as its own part is done, and then goes on through the later steps while the hook computes
the others.

A bad track fails only its own partition: each asset that succeeds for a track is recorded at
once as that partition's materialisation (:mod:`assets.provenance` gives it the code and data
versions Dagster itself would record), a track whose step fails, or whose blocking check fails,
goes no further, and the step fails at the end, naming every failed track. Dagster then shows
exactly those partitions as failed (planned in a failed run, not materialised) and the rest as
materialised. Errors that concern the whole batch (the model cannot be fetched) are raised
straight away, so the run's retry policy retries it.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import dagster as dg

from .provenance import derived_data_version, latest, provenance_tags
from .track_step import Compute, PartitionFailed, StepResult, Track, TrackCheck, TrackStep

log = logging.getLogger(__name__)


@dataclass
class BatchOutcome:
    """What a batch did: the tracks each asset was materialised for, and the failed tracks
    (partition key -> the one-line reason, prefixed with the asset or check that failed)."""

    materialized: dict[str, list[str]] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)


def _check_evaluation(
    step: TrackStep, check: TrackCheck, key: str, result: dg.AssetCheckResult
) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey(step.name),
        check_name=check.name,
        passed=bool(result.passed),
        metadata=result.metadata,
        severity=result.severity,
        description=result.description,
        blocking=check.blocking,
        partition=key,
    )


def _evaluate(
    check: TrackCheck, track: Track, transient: tuple[type[BaseException], ...]
) -> dg.AssetCheckResult:
    """The check's result; a check that cannot even read what it checks fails, saying why."""
    try:
        return check.evaluate(track)
    except transient:
        raise
    except Exception as exc:
        why = exc.description if isinstance(exc, dg.Failure) else str(exc)
        return dg.AssetCheckResult(passed=False, description=f"could not check: {why}")


def run_batch(
    context: dg.AssetExecutionContext,
    steps: Sequence[TrackStep],
    tracks: Sequence[Track],
    transient: tuple[type[BaseException], ...] = (),
    outcome: BatchOutcome | None = None,
) -> BatchOutcome:
    """Compute the selected ``steps`` (in dependency order) for every track of ``tracks``.

    Steps run over the whole batch one after the other, except after a step with a batch hook:
    each track it hands back goes through the later steps at once, while the hook goes on with
    the others (a warm engine separates the next tracks while this one's features are
    computed). Exceptions of the ``transient`` types propagate (the whole batch is retried);
    any other exception of a step fails only the track it was computing, logged with its trace.
    ``outcome`` may already hold tracks that failed before (they are not computed).
    """
    selected = {key.to_user_string() for key in context.selected_asset_keys}
    selected_checks = set(context.selected_asset_check_keys)
    outcome = outcome if outcome is not None else BatchOutcome()

    def through(remaining: Sequence[TrackStep], batch: Sequence[Track]) -> None:
        for i, step in enumerate(remaining):
            if step.name not in selected:
                # a check-only run (the UI's "Execute checks"): the stored data is checked
                _check(context, step, batch, selected_checks, outcome, transient)
                continue
            done = outcome.materialized.setdefault(step.name, [])
            todo = [track for track in batch if track.partition_key not in outcome.failed]
            hand_on = step.run_many is not None and len(todo) > 1
            with contextlib.closing(_computations(step, todo)) as computations:
                # closed when a transient error ends the batch: the shared work stops
                for track, compute in computations:
                    if _materialize(context, step, track, compute, outcome, transient):
                        done.append(track.partition_key)
                        _check(context, step, [track], selected_checks, outcome, transient)
                    if hand_on:
                        through(remaining[i + 1 :], [track])
            if hand_on:
                return

    through(steps, tracks)
    return outcome


def _materialize(
    context: dg.AssetExecutionContext,
    step: TrackStep,
    track: Track,
    compute: Compute,
    outcome: BatchOutcome,
    transient: tuple[type[BaseException], ...],
) -> bool:
    """Compute ``step`` for ``track`` and record it as the partition's materialisation;
    ``False`` when the track failed (its reason is in ``outcome``)."""
    key = track.partition_key
    try:
        result = compute()
    except transient:
        raise
    except PartitionFailed as exc:
        outcome.failed[key] = f"{step.name}: {exc}"
        context.log.error(f"{key}: {step.name}: {exc}")
        return False
    except dg.Failure as exc:
        outcome.failed[key] = f"{step.name}: {exc.description}"
        context.log.error(f"{key}: {step.name}: {exc.description}")
        return False
    except Exception as exc:  # a bug or an unforeseen input: this track only
        log.exception("%s: %s failed", key, step.name)
        outcome.failed[key] = f"{step.name}: {type(exc).__name__}: {exc}"
        context.log.exception(f"{key}: {step.name} failed")
        return False
    inputs = {dep: latest(context.instance, dep, key) for dep in step.deps}
    version = result.data_version or derived_data_version(step.code_version, inputs)
    context.log_event(
        dg.AssetMaterialization(
            step.name,
            partition=key,
            metadata=dict(result.metadata),
            tags=provenance_tags(step.code_version, version, inputs),
        )
    )
    return True


def _computations(step: TrackStep, tracks: Sequence[Track]) -> Iterator[tuple[Track, Compute]]:
    """Each of ``tracks`` once, with what computes ``step`` for it: one after the other, or
    through the step's batch hook in the order the hook finishes them.

    An error of the hook itself (not of one track's computation) is every remaining track's
    error: raised by each one's computation, so that a transient error still fails the whole
    batch and any other fails each track with its reason, as it would one by one.
    """
    if step.run_many is None:
        for track in tracks:
            yield track, functools.partial(step.run, track)
        return
    left = {track.partition_key: track for track in tracks}
    error: Exception | None = None
    batch = step.run_many(list(tracks))
    with contextlib.closing(batch):  # a batch given up on stops its work
        try:
            for track, compute in batch:
                if left.pop(track.partition_key, None) is None:
                    raise RuntimeError(f"{track.partition_key} computed twice or not asked for")
                yield track, compute
        except Exception as exc:  # the hook failed: each remaining track fails with it
            error = exc
    for track in left.values():
        missing = RuntimeError(f"{step.name} gave no result for this track")
        yield track, functools.partial(_raise, error or missing)


def _raise(error: Exception) -> StepResult:
    raise error


def _check(
    context: dg.AssetExecutionContext,
    step: TrackStep,
    tracks: Sequence[Track],
    selected_checks: set[dg.AssetCheckKey],
    outcome: BatchOutcome,
    transient: tuple[type[BaseException], ...],
) -> None:
    """Evaluate the selected checks of ``step`` for ``tracks`` and log them; a failed blocking
    check fails its track."""
    for check in step.checks:
        if dg.AssetCheckKey(dg.AssetKey(step.name), check.name) not in selected_checks:
            continue
        for track in tracks:
            key = track.partition_key
            if key in outcome.failed:
                continue
            checked = _evaluate(check, track, transient)
            context.log_event(_check_evaluation(step, check, key, checked))
            if check.blocking and not checked.passed:
                outcome.failed[key] = f"{check.name}: {checked.description}"


def fail_if_any(outcome: BatchOutcome, describe: Callable[[str], str] = str) -> None:
    """Fail the step when a track failed, naming each (``describe`` turns a partition key into
    what the user knows the track by); the reasons are in the failure's ``failed`` metadata."""
    if not outcome.failed:
        return
    lines = [f"{describe(key)}: {why}" for key, why in outcome.failed.items()]
    more = f" (and {len(lines) - 1} more)" if len(lines) > 1 else ""
    raise dg.Failure(
        description=f"{len(lines)} track(s) failed: {lines[0]}{more}",
        metadata={"failed": dg.MetadataValue.json(dict(outcome.failed))},
        allow_retries=False,
    )
