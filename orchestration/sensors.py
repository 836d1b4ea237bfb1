"""The folder sensor: new or changed audio becomes a track partition and a run.

Each tick walks the audio roots (a stat per file), re-hashes only files whose size or mtime
changed, and hashes at most ``hashes_per_tick`` new files within a 20 s budget, so a tick stays
far below Dagster's 60 s limit; the remaining files stay ``pending`` in the inventory and are
taken in by the next ticks (the cursor records the progress). A track id that has no partition
yet gets one and a run request keyed by track id and stems code version, so the same work is
never requested twice and an unchanged folder requests nothing. Files that disappeared are
marked ``removed`` in the inventory; their results stay in the catalogue.
"""

import json
from pathlib import Path

import dagster as dg
import polars as pl

from assets.partitions import TRACKS
from assets.settings import StemlineSettings
from catalogue.inventory import update_inventory

TICK_BUDGET_S = 20.0


def new_track_requests(
    inventory: pl.DataFrame, existing: set[str], code_version: str
) -> tuple[list[str], list[dg.RunRequest]]:
    """Partition keys to add and runs to request for track ids without a partition."""
    tracks = (
        inventory.filter((pl.col("role") == "track") & (pl.col("status") == "present"))
        .sort("path")
        .group_by("track_id", maintain_order=True)
        .first()
    )
    new = [
        (tid, path)
        for tid, path in zip(tracks["track_id"], tracks["path"], strict=True)
        if tid not in existing
    ]
    requests = [
        dg.RunRequest(
            partition_key=tid,
            run_key=f"{tid}@{code_version}",
            tags={"stemline/path": path[-200:]},
        )
        for tid, path in new
    ]
    return [tid for tid, _ in new], requests


def make_folder_sensor(job, code_version: str) -> dg.SensorDefinition:
    """The sensor that watches ``settings.audio_roots`` and feeds ``job``."""

    @dg.sensor(
        job=job,
        name="audio_folder_sensor",
        minimum_interval_seconds=30,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def audio_folder_sensor(context: dg.SensorEvaluationContext, settings: StemlineSettings):
        """Scan the audio roots; add partitions and request runs for new or changed tracks."""
        result = update_inventory(
            settings.layout.inventory,
            [Path(r) for r in settings.audio_roots],
            max_hashes=settings.hashes_per_tick,
            time_budget_s=TICK_BUDGET_S,
        )
        existing = set(context.instance.get_dynamic_partitions(TRACKS))
        new_ids, requests = new_track_requests(result.inventory, existing, code_version)
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
