"""Small shared pieces of the track assets: one track's partition within a batch, and the
step failures for outputs a step cannot do without.

Every stored path and schema is the store's (:class:`catalogue.store.TrackStore`); this module
only turns its library exceptions into failures of the track they concern.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import dagster as dg

from catalogue.store import OutputUnavailable, TrackStore, UnsafeNameError, check_track_id
from resources.feature_pool import FeaturePool
from resources.separation_engine import SeparationEngine
from resources.settings import StemlineSettings

from .partitions import track_id_of
from .track_step import PartitionFailed

T = TypeVar("T")

#: Retries of a whole batch for failures that may pass (a model download, a flaky network file
#: system); a bad track raises :class:`~assets.track_batch.PartitionFailed` and fails alone.
TRANSIENT_RETRIES = dg.RetryPolicy(max_retries=2, delay=5, backoff=dg.Backoff.EXPONENTIAL)


def permanent_failure(message: str) -> PartitionFailed:
    """The failure of one track that retrying cannot fix (bad input, missing upstream
    output)."""
    return PartitionFailed(message)


def partition_track_id(partition_key: str) -> str:
    """The track id inside a partition key (:mod:`assets.partitions`), checked to be a hex
    digest so it can never form a path elsewhere."""
    try:
        return check_track_id(track_id_of(partition_key))
    except UnsafeNameError as exc:
        raise permanent_failure(f"partition {partition_key!r}: {exc}") from exc


@dataclass(frozen=True)
class TrackPartition:
    """One track of a batch, as its steps and checks see it: its partition key, its store, the
    settings, the run and the resources the steps share (model, feature workers)."""

    partition_key: str
    store: TrackStore
    settings: StemlineSettings
    run_id: str
    #: The run's Dagster logger (``context.log``).
    log: Any
    engine: SeparationEngine | None = None
    feature_pool: FeaturePool | None = None

    @classmethod
    def of(
        cls,
        context: dg.AssetExecutionContext,
        key: str,
        settings: StemlineSettings,
        engine: SeparationEngine | None = None,
        feature_pool: FeaturePool | None = None,
    ) -> "TrackPartition":
        """The partition ``key`` of the run of ``context``; raises
        :class:`~assets.track_batch.PartitionFailed` for a key that holds no track id."""
        store = TrackStore(settings.layout, partition_track_id(key), settings.model_name)
        return cls(key, store, settings, context.run.run_id, context.log, engine, feature_pool)

    def record_run(self, asset: str) -> None:
        """Note which Dagster run wrote ``asset`` for this track (the ``runs`` view)."""
        self.store.write_run_record(asset, self.partition_key, self.run_id)


def required(read: Callable[..., T], *args: object) -> T:
    """``read(*args)``, a store read of an output the step cannot do without; a missing,
    damaged or unusable output fails the track with the store's one-line message
    (``required(store.track_record)``, ``required(store.stem_rows)``)."""
    try:
        return read(*args)
    except OutputUnavailable as exc:
        raise permanent_failure(str(exc)) from exc
