"""Which track assets are out of date, as Dagster sees them: stale, missing or failed.

``stemline run`` materialises, per track, exactly what the UI marks: an asset partition that
was never materialised (*missing*), whose last run failed (*failed*), or that is *stale* by
code version (its code changed since it was materialised) or by data version (an asset it
reads was materialised again with a new data version since) -- and everything downstream of
those, because what they compute from is about to change (Dagster marks only the asset whose
code changed; what reads it turns stale by data version once it is materialised again).
:func:`out_of_date` says which assets of which partitions are so and why;
:func:`with_downstream` adds what reads them.

Dagster 1.13 has no public API for an asset partition's stale status: the UI (through
GraphQL) and Dagster's own "stale or missing" sensor requests compute it with the internal
``dagster._core.definitions.data_version.CachingStaleStatusResolver``. This module (with the
record look-ups of :mod:`.prefetched_records`) is the only place stemline uses it, so a Dagster
upgrade that moves it touches these files alone, and
``tests/orchestration/test_staleness.py`` pins what it answers after real materialisations.
Failures come from Dagster's public per-partition status
(:meth:`dagster.DagsterInstance.get_status_by_partition`).

The resolver reads the latest materialisation of each asset partition and of what it reads,
one query each; it is given the records of all the partitions fetched in bulk instead
(:class:`.prefetched_records.PrefetchedRecords`: a few queries per asset), so the check costs
about the same for one track as for thousands, with the resolver's own verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import dagster as dg
from dagster._core.definitions.data_version import CachingStaleStatusResolver, StaleStatus
from dagster._core.loader import LoadingContext
from dagster._utils.caching_instance_queryer import CachingInstanceQueryer

from .prefetched_records import PrefetchedRecords

if TYPE_CHECKING:
    from dagster._core.definitions.assets.graph.asset_graph import AssetGraph

#: The reason given for an asset partition that was never materialised.
MISSING = "missing"
#: The reason given for an asset partition whose last run failed.
FAILED = "failed"


class _LoadingContext(LoadingContext):
    """The minimal loading context the resolver needs: the instance and a loader cache
    (what Dagster's webserver passes is its request context)."""

    def __init__(self, instance: dg.DagsterInstance) -> None:
        self._instance = instance
        self._loaders: dict = {}

    @property
    def instance(self) -> dg.DagsterInstance:
        return self._instance

    @property
    def loaders(self) -> dict:
        return self._loaders


def out_of_date(
    instance: dg.DagsterInstance,
    asset_graph: AssetGraph,
    assets: Sequence[str],
    partition_keys: Iterable[str],
) -> dict[str, dict[str, str]]:
    """The out-of-date assets of each partition, with why, as the UI shows them.

    Parameters
    ----------
    instance : DagsterInstance
        Where the runs and materialisations are recorded.
    asset_graph : AssetGraph
        The graph of the current definitions (``defs.resolve_asset_graph()``): their code
        versions are compared with the ones recorded.
    assets : sequence of str
        The partitioned assets to look at.
    partition_keys : iterable of str
        The partitions to look at.

    Returns
    -------
    dict
        Partition key -> {asset name -> reason} for every partition, empty when all its assets
        are up to date. The reason is :data:`FAILED`, :data:`MISSING` or Dagster's root cause
        of the staleness (``stem_features has a new code version``, ``stems has a new data
        version``).
    """
    keys = list(partition_keys)
    records = PrefetchedRecords(instance, [dg.AssetKey(name) for name in assets], keys)
    context = _LoadingContext(instance)
    # The resolver's queryer (its dynamic partitions store too) reads through ``records``.
    queryer = CachingInstanceQueryer(records, asset_graph, context)  # type: ignore[arg-type]
    resolver = CachingStaleStatusResolver(
        records,  # type: ignore[arg-type]
        asset_graph,
        context,
        instance_queryer=queryer,
    )
    found: dict[str, dict[str, str]] = {key: {} for key in keys}
    for name in assets:
        asset_key = dg.AssetKey(name)
        statuses = instance.get_status_by_partition(
            asset_key, keys, asset_graph.get(asset_key).partitions_def
        )
        for key in keys:
            if statuses is not None and statuses.get(key) == dg.AssetPartitionStatus.FAILED:
                found[key][name] = FAILED
                continue
            status = resolver.get_status(asset_key, key)
            if status == StaleStatus.MISSING:
                found[key][name] = MISSING
            elif status == StaleStatus.STALE:
                causes = resolver.get_stale_root_causes(asset_key, key)
                why = (f"{cause.asset_key.to_user_string()} {cause.reason}" for cause in causes)
                found[key][name] = "; ".join(why) or "stale"
    return found


def with_downstream(
    asset_graph: AssetGraph, roots: Iterable[str], assets: Sequence[str]
) -> tuple[str, ...]:
    """``roots`` and every asset of ``assets`` downstream of them, in the order of ``assets``.

    The asset graph gives what reads what, so a new version of an asset re-runs exactly what
    is computed from it.
    """
    roots = list(roots)
    if not roots:
        return ()
    selection = dg.AssetSelection.assets(*roots).downstream().resolve(asset_graph)
    wanted = {key.to_user_string() for key in selection}
    return tuple(name for name in assets if name in wanted)
