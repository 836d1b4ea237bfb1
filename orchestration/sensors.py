"""The folder sensor: new or changed audio becomes a track partition and a run.

The sensor ticks every :data:`SENSOR_INTERVAL_S` seconds (Dagster's sensor daemon looks every
5 s, so a dropped file is seen within 10-15 s). Each tick walks the audio roots (a stat per
file; never the storage root), re-hashes only files whose size, mtime or ctime changed, and
hashes at most ``hashes_per_tick`` new files within a :data:`TICK_BUDGET_S` budget, so a tick
stays far below Dagster's 60 s limit and a big drop has its first runs requested after one
budget. The budget bounds time inside a file too: a file still being hashed when it runs out
keeps its hash state in the inventory and the next tick resumes it, so a file too big for one
tick is hashed over several (new files first, so it holds none of them back). The remaining
files stay ``pending`` in the inventory and are taken in by the next ticks (the cursor records
the progress). FIFOs, sockets, devices and links to them are never opened; they are recorded
with their kind as the track's error. A track id that has no partition yet gets one; the new
partitions are added in one request, in order, and requested in runs of at most
``tracks_per_run`` consecutive partitions (N new tracks, ⌈N / tracks_per_run⌉ runs;
:mod:`assets.batches`), each keyed by its track ids and the stems code version, so the same
work is never requested twice and an unchanged folder requests nothing. Files that
disappeared, and the old content of a file overwritten in place, are marked ``removed`` in the
inventory; their results stay in the catalogue.
"""

import hashlib
import json
from pathlib import Path

import dagster as dg
import polars as pl

from assets.batches import range_tags
from assets.partitions import TRACKS, partition_keys_for, track_id_of
from catalogue.inventory import update_inventory
from resources.settings import StemlineSettings

#: Seconds between the folder sensor's ticks (``minimum_interval_seconds``).
SENSOR_INTERVAL_S = 10
#: Seconds of hashing per tick: no longer than the interval, so ticks do not queue up behind
#: a big drop, and its first tracks are requested after one budget.
TICK_BUDGET_S = 10.0


def new_track_requests(
    inventory: pl.DataFrame, existing: set[str], code_version: str, tracks_per_run: int = 1
) -> tuple[list[str], list[dg.RunRequest]]:
    """Partition keys to add (in this order) and runs to request for track ids without a
    partition: one run per ``tracks_per_run`` consecutive new keys.

    A new track's key is ``<slug of its first path>-<track id>`` (:mod:`assets.partitions`);
    a track id that already has a partition (under any key) is not new.
    """
    tracks = (
        inventory.filter((pl.col("role") == "track") & (pl.col("status") == "present"))
        .sort("path")
        .group_by("track_id", maintain_order=True)
        .first()
    )
    pairs = list(zip(tracks["track_id"], tracks["path"], strict=True))
    keys, new_keys = partition_keys_for(pairs, existing)
    paths = {keys[tid]: path for tid, path in pairs}
    requests = []
    for start in range(0, len(new_keys), max(1, tracks_per_run)):
        batch = new_keys[start : start + max(1, tracks_per_run)]
        ids = "\n".join(track_id_of(k) for k in batch)
        digest = hashlib.sha256(ids.encode()).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=f"{digest}x{len(batch)}@{code_version}",
                tags={
                    **range_tags(batch[0], batch[-1]),
                    "stemline/path": paths[batch[0]][-200:],
                    "stemline/tracks": str(len(batch)),
                },
            )
        )
    return new_keys, requests


def make_folder_sensor(
    job, code_version: str, tracks_per_run: int = 1, tick_budget_s: float = TICK_BUDGET_S
) -> dg.SensorDefinition:
    """The sensor that watches ``settings.audio_roots`` and feeds ``job`` runs of at most
    ``tracks_per_run`` tracks, hashing for at most ``tick_budget_s`` seconds per tick."""

    @dg.sensor(
        job=job,
        name="audio_folder_sensor",
        minimum_interval_seconds=SENSOR_INTERVAL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def audio_folder_sensor(context: dg.SensorEvaluationContext, settings: StemlineSettings):
        """Scan the audio roots; add partitions and request runs for new or changed tracks."""
        result = update_inventory(
            settings.layout.inventory,
            [Path(r) for r in settings.audio_roots],
            exclude=[settings.layout.root],
            max_hashes=settings.hashes_per_tick,
            time_budget_s=tick_budget_s,
        )
        existing = set(context.instance.get_dynamic_partitions(TRACKS))
        new_ids, requests = new_track_requests(
            result.inventory, existing, code_version, tracks_per_run
        )
        cursor = json.dumps(
            {
                "files": result.inventory.height,
                "hashed": result.hashed,
                "pending": result.pending,
                "tracks": len(existing) + len(new_ids),
            }
        )
        if not requests:
            return dg.SensorResult(
                skip_reason=f"no new tracks ({result.pending} files still to hash)",
                cursor=cursor,
            )
        context.log.info(f"{len(new_ids)} new tracks; {result.pending} files still to hash")
        return dg.SensorResult(
            run_requests=requests,
            dynamic_partitions_requests=[dg.AddDynamicPartitionsRequest(TRACKS, new_ids)],
            cursor=cursor,
        )

    return audio_folder_sensor
