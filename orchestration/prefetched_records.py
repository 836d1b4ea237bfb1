"""An instance whose look-ups of the latest materialisation of one asset partition are answered
from records fetched in bulk: a few queries per asset instead of one or two per partition.

Dagster's stale-status resolver (:mod:`.staleness`) asks the instance, for every asset partition
it looks at, for the partition's latest materialisation record and, for each partition it
reads, for the latest record after and before the storage id its provenance names
(``fetch_materializations(AssetRecordsFilter(asset_key, [partition], ...), limit=1)``). On
SQLite each such query opens a connection and costs 10-20 ms, so on a storage with thousands
of tracks the look-ups alone would take minutes. :class:`PrefetchedRecords` fetches, per
asset, the latest storage id of every partition (one query), those records (one query per
500), and the records the latest ones' provenance points at (the same), then answers exactly
the look-ups it can answer from them and passes every other call to the instance unchanged,
so the verdicts are Dagster's own. Like :mod:`.staleness`, it relies on Dagster internals
(the provenance of an event, the records result): a Dagster upgrade that moves them touches
these two modules, and ``tests/orchestration/test_staleness.py`` compares every verdict with
the resolver's on the instance itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import dagster as dg
from dagster._core.definitions.data_version import extract_data_provenance_from_entry
from dagster._core.event_api import EventRecordsResult
from dagster._core.storage.event_log.base import EventLogCursor

#: Storage ids per ``storage_ids`` query (SQLite caps the parameters of one statement).
CHUNK = 500
#: What :meth:`PrefetchedRecords._latest_record` returns when its records cannot tell.
ASK_THE_INSTANCE = object()


def _fetch_by_ids(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, ids: Iterable[int]
) -> list[dg.EventLogRecord]:
    """The materialisation records of ``asset_key`` with these storage ids."""
    ids = sorted(set(ids))
    records = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        records_filter = dg.AssetRecordsFilter(asset_key=asset_key, storage_ids=chunk)
        records += instance.fetch_materializations(records_filter, limit=len(chunk)).records
    return records


class PrefetchedRecords:
    """``instance``, with the latest-record look-ups of ``partitions`` of ``assets`` answered
    from records fetched up front; every other attribute is the instance's own.

    Parameters
    ----------
    instance : DagsterInstance
        Where the materialisations are recorded.
    assets : sequence of AssetKey
        The partitioned, materialisable assets to fetch records of.
    partitions : iterable of str
        The partitions whose look-ups are answered here.
    """

    def __init__(
        self,
        instance: dg.DagsterInstance,
        assets: Sequence[dg.AssetKey],
        partitions: Iterable[str],
    ) -> None:
        self._instance = instance
        self._assets = set(assets)
        self._partitions = set(partitions)
        #: (asset, partition) -> storage id of its latest materialisation (absent: none).
        self._latest: dict[tuple[dg.AssetKey, str], int] = {}
        #: storage id -> record, for the latest records and those their provenance names.
        self._records: dict[int, dg.EventLogRecord] = {}
        #: Partitions whose latest record was not returned (wiped in between): asked again.
        self._unknown: set[tuple[dg.AssetKey, str]] = set()
        inputs: dict[dg.AssetKey, set[int]] = {}
        for asset in self._assets:
            latest = instance.get_latest_storage_id_by_partition(
                asset, event_type=dg.DagsterEventType.ASSET_MATERIALIZATION
            )
            ids = {sid for partition, sid in latest.items() if partition in self._partitions}
            for record in self._keep(_fetch_by_ids(instance, asset, ids)):
                self._latest[(asset, record.partition_key)] = record.storage_id
                provenance = extract_data_provenance_from_entry(record.event_log_entry)
                for dep, sid in (provenance.input_storage_ids if provenance else {}).items():
                    if sid is not None and dep in self._assets:
                        inputs.setdefault(dep, set()).add(sid)
            self._unknown.update(
                (asset, partition)
                for partition, sid in latest.items()
                if sid in ids and sid not in self._records
            )
        for dep, ids in inputs.items():
            self._keep(_fetch_by_ids(instance, dep, ids - self._records.keys()))

    def _keep(self, records: list[dg.EventLogRecord]) -> list[dg.EventLogRecord]:
        self._records.update((record.storage_id, record) for record in records)
        return records

    def __getattr__(self, name: str) -> Any:
        return getattr(self._instance, name)

    def get_latest_data_version_record(
        self,
        key: dg.AssetKey,
        is_source: bool | None = None,
        partition_key: str | None = None,
        before_cursor: int | None = None,
        after_cursor: int | None = None,
    ) -> dg.EventLogRecord | None:
        """The instance's method of that name, its materialisation look-up answered by
        :meth:`fetch_materializations` (source assets' observations: the instance's)."""
        if is_source is not False:
            return self._instance.get_latest_data_version_record(
                key, is_source, partition_key, before_cursor, after_cursor
            )
        records_filter = dg.AssetRecordsFilter(
            asset_key=key,
            asset_partitions=[partition_key] if partition_key else None,
            before_storage_id=before_cursor,
            after_storage_id=after_cursor,
        )
        return next(iter(self.fetch_materializations(records_filter, limit=1).records), None)

    def fetch_materializations(
        self, records_filter: Any, limit: int, cursor: str | None = None, ascending: bool = False
    ) -> EventRecordsResult:
        """The instance's answer, or the same answer from the prefetched records when the
        query asks for the latest record of one prefetched asset partition (optionally before
        or after a storage id) and the records held decide it."""
        record = self._latest_record(records_filter, limit, cursor, ascending)
        if record is ASK_THE_INSTANCE:
            return self._instance.fetch_materializations(records_filter, limit, cursor, ascending)
        if record is None:
            return EventRecordsResult([], EventLogCursor.from_storage_id(-1).to_string(), False)
        next_cursor = EventLogCursor.from_storage_id(record.storage_id).to_string()
        return EventRecordsResult([record], next_cursor, False)

    def _latest_record(
        self, records_filter: Any, limit: int, cursor: str | None, ascending: bool
    ) -> dg.EventLogRecord | object | None:
        """The record the query returns, ``None`` for no record, :data:`ASK_THE_INSTANCE` when
        the prefetched records cannot tell."""
        if not isinstance(records_filter, dg.AssetRecordsFilter) or cursor or ascending:
            return ASK_THE_INSTANCE
        f = records_filter
        if limit != 1 or f.after_timestamp or f.before_timestamp or f.storage_ids:
            return ASK_THE_INSTANCE
        if not f.asset_partitions or len(f.asset_partitions) != 1:
            return ASK_THE_INSTANCE
        key = (f.asset_key, f.asset_partitions[0])
        if key[0] not in self._assets or key[1] not in self._partitions or key in self._unknown:
            return ASK_THE_INSTANCE
        latest = self._latest.get(key)
        if latest is None:  # no materialisation at all
            return None
        if f.after_storage_id is not None and latest <= f.after_storage_id:
            return None
        if f.before_storage_id is None or latest < f.before_storage_id:
            return self._records[latest]
        # The latest record before ``before``: known only when it is the record just below.
        below = self._records.get(f.before_storage_id - 1)
        if below is None or (below.asset_key, below.partition_key) != key:
            return ASK_THE_INSTANCE
        if f.after_storage_id is not None and below.storage_id <= f.after_storage_id:
            return None
        return below
