"""Batches of track partitions: which runs a set of tracks becomes.

A run of the track assets covers a *range* of partition keys (Dagster's
``dagster/asset_partition_range_start`` / ``_end`` run tags), every key between the two in the
order the dynamic partitions were added. :func:`partition_ranges` cuts the keys to process
into ranges that hold only those keys, at most ``batch`` each; tracks added together (a
scan, a sensor tick) are contiguous in that order, so N new tracks make ⌈N / batch⌉ runs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def partition_ranges(
    all_keys: Sequence[str], wanted: Iterable[str], batch: int
) -> list[tuple[str, str]]:
    """Ranges ``(first, last)`` of consecutive keys of ``all_keys`` (the partitions in their
    order) that cover exactly the ``wanted`` keys, each holding at most ``batch`` of them.

    Raises
    ------
    ValueError
        ``batch`` is below 1, or a wanted key is not a partition.
    """
    if batch < 1:
        raise ValueError(f"batch must be at least 1, not {batch}")
    wanted = set(wanted)
    missing = wanted.difference(all_keys)
    if missing:
        raise ValueError(f"not partitions: {sorted(missing)}")
    ranges: list[tuple[str, str]] = []
    run: list[str] = []
    for key in all_keys:
        if key not in wanted or len(run) == batch:
            if run:
                ranges.append((run[0], run[-1]))
            run = []
        if key in wanted:
            run.append(key)
    if run:
        ranges.append((run[0], run[-1]))
    return ranges


def range_tags(first: str, last: str) -> dict[str, str]:
    """Run tags that make a run cover the partitions ``first`` .. ``last``."""
    return {RANGE_START_TAG: first, RANGE_END_TAG: last}
