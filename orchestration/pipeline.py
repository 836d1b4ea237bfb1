"""Run the pipeline without the UI: ``stemline run AUDIO_DIR`` and ``stemline demo``.

The same assets, checks and storage as the UI, executed in this process against the instance in
``DAGSTER_HOME`` (default ``<storage_root>/.dagster``), so runs show up in ``stemline ui``
afterwards. Tracks are processed in runs of up to ``tracks_per_run`` tracks, the runs a UI
backfill of the same partitions makes (:mod:`.batch_runs`); the separation engine and the pool
of feature worker processes (:mod:`resources`) are set up once per call and handed to every
run (:func:`shared_resources`), so the model loads and the workers start once for the whole
folder.

Which tracks a run processes: only tracks with a file under the audio folders it was given (the
inventory is shared by every folder on the storage; tracks of other folders are left alone).
Of those, each track materialises what Dagster itself shows as out of date in ``stemline ui``
(:mod:`.staleness`): an asset never materialised for the track (missing), whose last run
failed, or stale by code version (a new version of the asset's code, the model, checkpoint or
separation engine) or by data version (an asset it reads changed since) -- plus every asset
downstream of those in the asset graph. Dagster cannot see files on disk, so the outputs are
checked too (:func:`catalogue.integrity.check_track_outputs`): an output that is missing or
unreadable is named, one line per track, and its asset and the ones downstream run again (a
damaged feature table does not cost a new separation).

Expected failures stay quiet: Dagster's console logger is off unless ``log_level`` asks for it,
so a bad file is one line of the summary while the full step failure, with its trace, is in the
run's event log (``stemline ui`` → Runs). The catalogue step's failure becomes one line too.
"""

import logging
import os
import socket
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg
import polars as pl

from assets.partitions import TRACKS, partition_keys_for, track_id_of
from atomicfile import exclusive_lock
from catalogue.integrity import OutputProblem, check_track_outputs, parquet_problem
from catalogue.inventory import printable, update_inventory
from catalogue.store import TrackStore
from resources.settings import StemlineSettings

from .batch_runs import failure_message, run_batches
from .definitions import TRACK_ASSET_NAMES, build_definitions
from .instance import HOST_TAG, PID_TAG, ensure_dagster_home, recover_crashed_runs
from .staleness import out_of_date, with_downstream
from .storage_checks import check_inventory, check_storage

log = logging.getLogger(__name__)


@dataclass
class RunSummary:
    """What ``run_folder`` did."""

    processed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    #: Tracks processed again because an output was missing or unreadable: id -> the line
    #: saying so (also passed to ``notice`` when found).
    reprocessed: dict[str, str] = field(default_factory=dict)
    #: Tracks Dagster showed out of date: id -> {asset: why} (``missing``, ``failed``, or the
    #: root cause of its staleness, e.g. ``stem_features has a new code version``).
    reasons: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Why the catalogue is incomplete (unreadable files it left out) or the catalogue or the
    #: dataset report could not be refreshed (one line), or None.
    catalogue_error: str | None = None


def _tracks_under_roots(inventory: pl.DataFrame, roots: list[str]) -> pl.DataFrame:
    """``track_id`` and first ``path`` of every present track with a file under ``roots``
    (compared as the inventory stores them: absolute, non-UTF-8 bytes escaped)."""
    wanted = {printable(str(Path(r).absolute())) for r in roots}
    present = inventory.filter(
        (pl.col("role") == "track")
        & (pl.col("status") == "present")
        & pl.col("root").is_in(sorted(wanted))
    )
    return present.sort("path").group_by("track_id", maintain_order=True).first()


def _reprocess_line(path: str, problems: Sequence[OutputProblem]) -> str:
    """``reprocessing <track path>: <first problem> (and N more)``."""
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return f"reprocessing {path}: {problems[0]}{more}"


def _left_out_of_catalogue(result) -> list[str]:
    """The unreadable files the ``catalogue`` step left out of its views (its
    ``unreadable_files`` metadata), each as ``"<path> is unreadable (<why>)"``."""
    lines = []
    for materialization in result.asset_materializations_for_node("catalogue"):
        entry = materialization.metadata.get("unreadable_files")
        for item in entry.value if entry is not None else []:
            path = Path(item["path"])
            problem = parquet_problem(path) or f"unreadable ({item.get('problem', '?')})"
            lines.append(f"{path} is {problem}")
    return lines


def _error_of(settings: StemlineSettings, track_id: str, message: str) -> str:
    """The recorded error of a bad input, else ``message`` (the failed step's)."""
    recorded = TrackStore(settings.layout, track_id, settings.model_name).recorded_error()
    return recorded or message


#: The resources ``run_folder`` sets up once for all its runs, and the asset that needs each:
#: one is set up only when a track to process needs that asset.
SHARED_RESOURCES = {"engine": "stems", "feature_pool": "stem_features"}


@contextmanager
def shared_resources(
    defs: dg.Definitions, todo: Mapping[str, Sequence[str]]
) -> Iterator[dict[str, dg.ResourceDefinition]]:
    """The resources of :data:`SHARED_RESOURCES` that the runs of ``todo`` (track id -> assets
    to materialise) need, set up once here and torn down when the block ends.

    Each value is the set-up resource as a ready-made resource definition, for
    ``build_definitions(settings, resources=...)``: Dagster would otherwise set a resource up
    again for each run (each track), loading the model and starting the feature workers each
    time. (A job's ``execute_in_process(resources=...)`` cannot replace a resource already
    bound to its assets.)
    """
    wanted = {
        key: defs.resources[key]
        for key, asset in SHARED_RESOURCES.items()
        if any(asset in assets for assets in todo.values())
    }
    if not wanted:
        yield {}
        return
    with dg.build_resources(wanted) as live:
        if "feature_pool" in wanted:
            live.feature_pool.start()  # they import while the first run starts and separates
        yield {key: dg.ResourceDefinition.hardcoded_resource(getattr(live, key)) for key in wanted}


def _quiet_run_config(log_level: str) -> dict:
    """Run config that sets the console log level of in-process runs (events, with their full
    traces, still reach the instance's event log, so the UI shows everything)."""
    return {"loggers": {"console": {"config": {"log_level": log_level}}}}


def run_folder(
    settings: StemlineSettings,
    progress=None,
    instance: dg.DagsterInstance | None = None,
    log_level: str = "CRITICAL",
    notice: Callable[[str], None] | None = None,
) -> RunSummary:
    """Scan ``settings.audio_roots`` and materialise every track under them that needs it,
    then the catalogue and the dataset report.

    Parameters
    ----------
    settings : StemlineSettings
        Storage, model and the audio folders of this run.
    progress : callable, optional
        ``progress(done, total, track_id)``, called after each processed track.
    instance : DagsterInstance, optional
        Where runs are recorded; by default the one in ``DAGSTER_HOME`` (see
        :func:`ensure_dagster_home`).
    log_level : str
        Level of Dagster's console logger. ``CRITICAL`` (default) prints nothing: failures
        are in the returned summary and the instance's event log; ``INFO`` prints every step
        event with full traces (``stemline --verbose run``).
    notice : callable, optional
        Called with one line per track that is processed again because an output was missing
        or unreadable; by default the line is logged as a warning.

    Raises
    ------
    StorageError
        The storage root is not a writable folder, or the inventory is damaged.
    """
    layout = settings.layout
    notice = notice or log.warning
    check_storage(layout.root)
    check_inventory(layout.inventory)
    defs = build_definitions(settings)
    graph = defs.resolve_asset_graph()
    roots = [Path(r) for r in settings.audio_roots]
    result = update_inventory(layout.inventory, roots, exclude=[layout.root])
    present = _tracks_under_roots(result.inventory, list(settings.audio_roots))
    tracks = present["track_id"].to_list()
    paths = dict(zip(present["track_id"], present["path"], strict=True))
    summary = RunSummary()
    own_instance = instance is None
    if own_instance:
        home = ensure_dagster_home(settings)
        # Several `stemline run`s starting on a fresh instance would race to create its
        # SQLite schema (alembic fails with two heads); create it one process at a time.
        with exclusive_lock(home / ".stemline-instance.lock"):
            instance = dg.DagsterInstance.get()
    tags = {
        "stemline/source": "stemline run",
        HOST_TAG: socket.gethostname(),
        PID_TAG: str(os.getpid()),
    }
    try:
        recover_crashed_runs(instance)
        keys, new = partition_keys_for(
            [(t, paths[t]) for t in tracks], instance.get_dynamic_partitions(TRACKS)
        )
        if new:
            instance.add_dynamic_partitions(TRACKS, new)
        stale = out_of_date(instance, graph, TRACK_ASSET_NAMES, [keys[t] for t in tracks])
        todo: dict[str, tuple[str, ...]] = {}
        for track_id in tracks:
            reasons = stale[keys[track_id]]
            # Damage Dagster cannot see: files of assets it shows up to date.
            outputs = check_track_outputs(layout, settings.model_name, track_id)
            problems = [p for p in outputs.problems if p.asset not in reasons]
            assets = with_downstream(
                graph, [*reasons, *(p.asset for p in problems)], TRACK_ASSET_NAMES
            )
            if not assets:
                summary.skipped.append(track_id)
                continue
            todo[track_id] = assets
            if reasons:
                summary.reasons[track_id] = reasons
                log.info("processing %s: %s", paths[track_id], reasons)
            if problems:
                line = _reprocess_line(paths[track_id], problems)
                summary.reprocessed[track_id] = line
                notice(line)

        def track_done(done: int, key: str) -> None:
            if progress is not None:
                progress(done, len(todo), track_id_of(key))

        with shared_resources(defs, todo) as resources:
            job = build_definitions(settings, resources).resolve_job_def("process_tracks")
            results = run_batches(
                job,
                instance,
                {keys[t]: assets for t, assets in todo.items()},
                instance.get_dynamic_partitions(TRACKS),
                settings.tracks_per_run,
                _quiet_run_config(log_level),
                tags,
                progress=track_done,
            )
        summary.processed = [track_id_of(k) for k in results.processed]
        summary.failed = {
            track_id_of(k): _error_of(settings, track_id_of(k), why)
            for k, why in results.failed.items()
        }
        refreshed = defs.resolve_job_def("refresh_catalogue").execute_in_process(
            run_config=_quiet_run_config(log_level),
            instance=instance,
            raise_on_error=False,
            tags=tags,
        )
        left_out = _left_out_of_catalogue(refreshed)
        if left_out:
            more = f" (and {len(left_out) - 1} more)" if len(left_out) > 1 else ""
            summary.catalogue_error = (
                f"{left_out[0]}{more}, left out of the catalogue; a run on the folder of its "
                "track reprocesses it"
            )
        elif not refreshed.success:
            summary.catalogue_error = f"not refreshed: {failure_message(refreshed)}"
    finally:
        if own_instance:
            instance.dispose()
    return summary
