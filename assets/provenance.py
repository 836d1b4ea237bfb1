"""Provenance of a track asset's materialisation, recorded as Dagster records its own.

The track assets are computed a batch of partitions at a time (:mod:`assets.track_batch`) and
log one ``AssetMaterialization`` per asset and partition that succeeded, so that a bad file
fails only its own partition. Dagster adds code and data versions only to the materialisations
it derives from a step's outputs, so these events carry them explicitly, under the tag names
Dagster's stale-status resolver reads (the ones ``validate_asset_event_tags`` reserves for
this): the asset's code version, its data version, and for each upstream asset the data
version it was computed from and the storage id of that upstream materialisation. The UI and
``stemline run`` (:mod:`orchestration.staleness`) then see these partitions exactly as if
Dagster had written them: fresh, or stale by code or data version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import dagster as dg

CODE_VERSION_TAG = "dagster/code_version"
DATA_VERSION_TAG = "dagster/data_version"
USER_DATA_VERSION_TAG = "dagster/data_version_is_user_provided"
INPUT_DATA_VERSION_PREFIX = "dagster/input_data_version/"
INPUT_EVENT_POINTER_PREFIX = "dagster/input_event_pointer/"
#: What Dagster writes as the event pointer of an input never materialised.
NULL_EVENT_POINTER = "NULL"


@dataclass(frozen=True)
class Recorded:
    """The latest materialisation of one asset partition: its data version and storage id
    (both ``None`` when it was never materialised)."""

    data_version: str | None
    storage_id: int | None


def latest(instance: dg.DagsterInstance, asset: str, partition: str) -> Recorded:
    """The latest recorded materialisation of ``asset`` for ``partition``."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]),
        limit=1,
    ).records
    if not records:
        return Recorded(None, None)
    event = records[0].asset_materialization
    tags = event.tags if event is not None else {}
    return Recorded(tags.get(DATA_VERSION_TAG), records[0].storage_id)


def derived_data_version(code_version: str, inputs: Mapping[str, Recorded]) -> str:
    """A data version computed from what produced the data: the asset's code version and the
    data versions of its inputs (any change to either gives a new version)."""
    parts = [code_version] + [f"{k}={inputs[k].data_version}" for k in sorted(inputs)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def provenance_tags(
    code_version: str, data_version: str, inputs: Mapping[str, Recorded]
) -> dict[str, str]:
    """The tags of a materialisation computed by ``code_version`` from ``inputs`` (upstream
    asset name -> its materialisation used), with ``data_version``."""
    tags = {
        CODE_VERSION_TAG: code_version,
        DATA_VERSION_TAG: data_version,
        USER_DATA_VERSION_TAG: "true",
    }
    for name, recorded in inputs.items():
        tags[INPUT_DATA_VERSION_PREFIX + name] = recorded.data_version or ""
        tags[INPUT_EVENT_POINTER_PREFIX + name] = (
            str(recorded.storage_id) if recorded.storage_id is not None else NULL_EVENT_POINTER
        )
    return tags
