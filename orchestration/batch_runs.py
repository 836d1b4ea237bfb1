"""``stemline run``'s runs: the tracks to process, as few Dagster runs as the batches allow.

Tracks that need the same assets are cut into ranges of consecutive partitions of at most
``tracks_per_run`` (:func:`assets.batches.partition_ranges`), and each range is one run of the
``process_tracks`` job in this process, exactly the runs a UI backfill of those partitions
makes. A run that fails names its failed tracks in its step failure's ``failed`` metadata
(:func:`assets.track_batch.fail_if_any`); every other track of the run succeeded. A run that
fails without that list (a batch-wide error: the model could not be fetched) fails all its
tracks with the run's message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import dagster as dg

from assets.batches import partition_ranges, range_tags


@dataclass
class BatchResults:
    """Per partition key: processed, or failed with the one-line reason."""

    processed: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def failure_message(result) -> str:
    """One line for a failed in-process run: the first failed step and why.

    A :class:`dagster.Failure` gives its description; any other exception its innermost cause
    (the user code's error, not Dagster's wrapper), class name and first line.
    """
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            return f"{event.step_key}: {_first_line(data.user_failure_data.description)}"
        error = data.error
        while error is not None and error.cause is not None:
            error = error.cause
        if error is not None:
            return f"{event.step_key}: {_first_line(error.message)}"
    run_failure = result.get_run_failure_event()
    if run_failure is not None and run_failure.message:
        return _first_line(run_failure.message)
    return "failed (see the run's logs in `stemline ui`)"


def failed_tracks(result) -> dict[str, str] | None:
    """The tracks a failed batch run names as failed (partition key -> why), or ``None`` when
    the run failed as a whole."""
    for event in result.get_step_failure_events():
        data = event.step_failure_data.user_failure_data
        entry = data.metadata.get("failed") if data is not None else None
        if entry is not None:
            return {str(k): str(v) for k, v in entry.value.items()}
    return None


def run_batches(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    todo: Mapping[str, Sequence[str]],
    all_keys: Sequence[str],
    tracks_per_run: int,
    run_config: Mapping,
    tags: Mapping[str, str],
    progress: Callable[[int, str], None] | None = None,
) -> BatchResults:
    """Run ``job`` in this process for ``todo`` (partition key -> assets to materialise), in
    ranges of ``all_keys`` (every partition, in order) of at most ``tracks_per_run``.

    ``progress(done, key)`` is called for each track once its run has finished.
    """
    groups: dict[tuple[str, ...], list[str]] = {}
    for key, assets in todo.items():
        groups.setdefault(tuple(assets), []).append(key)
    position = {key: i for i, key in enumerate(all_keys)}
    results = BatchResults()
    for assets, keys in groups.items():
        for first, last in partition_ranges(all_keys, keys, tracks_per_run):
            batch = list(all_keys[position[first] : position[last] + 1])
            res = job.execute_in_process(
                run_config=dict(run_config),
                instance=instance,
                raise_on_error=False,
                tags={**tags, **range_tags(first, last)},
                asset_selection=[dg.AssetKey(a) for a in assets],
            )
            failed = {} if res.success else failed_tracks(res)
            if failed is None:
                failed = dict.fromkeys(batch, failure_message(res))
            for key in batch:
                if key in failed:
                    results.failed[key] = failed[key]
                else:
                    results.processed.append(key)
                if progress is not None:
                    progress(len(results.processed) + len(results.failed), key)
    return results
