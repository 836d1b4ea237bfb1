"""The track assets, as the pipeline's table of contents, computed a batch of tracks per run.

- ``track_audio`` (:mod:`.track_audio`): decode, validate, record the track or its error;
- ``stems`` (:mod:`.stems`): Spleeter separation, one file per stem;
- ``stem_features`` (:mod:`.stem_features`): pitch, onsets, chroma, notes, summary per stem;
- ``separation_eval`` (:mod:`.separation_eval`): SDR against reference stems, scores against
  annotations;
- ``transcription_prep`` (:mod:`.transcription_prep`): MIDI, JAMS, note tables, mono stems and
  the manifest.

They are one Dagster multi-asset over the ``tracks`` partitions, so a run covers a range of
tracks (at most ``tracks_per_run``: a UI backfill of N tracks, or a sensor tick that finds N
new ones, makes ⌈N / tracks_per_run⌉ runs) and computes it in one step and one process
(:mod:`.track_batch`): the model loads and the feature workers start once per run, and the
checks of :data:`~assets.checks.TRACK_CHECKS` are evaluated in the same step. Each asset can
still be materialised alone (the multi-asset can be subset), keeps its own code version, and
each track its own outcome: a bad file fails only its partition.
"""

import warnings
from dataclasses import replace

import dagster as dg

from resources.feature_pool import FeaturePool
from resources.separation_engine import SeparationEngine
from resources.settings import StemlineSettings
from separation.provider import ModelUnavailable, TransientFetchError

from . import separation_eval, stem_features, track_audio, transcription_prep
from .checks import TRACK_CHECKS
from .partitions import tracks_partitions
from .records import TRANSIENT_RETRIES, PartitionFailed, TrackPartition
from .stems import stems_step
from .track_batch import BatchOutcome, fail_if_any, run_batch
from .track_step import TrackStep

#: Errors that concern the whole batch, not one track: the run fails and is retried.
BATCH_ERRORS = (ModelUnavailable, TransientFetchError, MemoryError)


def track_steps(stems_code_version: str) -> list[TrackStep]:
    """The track assets' steps in dependency order, with their checks."""
    steps = [
        track_audio.STEP,
        stems_step(stems_code_version),
        stem_features.STEP,
        separation_eval.STEP,
        transcription_prep.STEP,
    ]
    return [replace(step, checks=TRACK_CHECKS.get(step.name, ())) for step in steps]


def make_track_assets(engine_config: SeparationEngine, tracks_per_run: int) -> dg.AssetsDefinition:
    """The track assets for the engine configured as ``engine_config`` (its code version is
    the stems' code version), with runs of at most ``tracks_per_run`` tracks."""
    steps = track_steps(engine_config.code_version())
    with warnings.catch_warnings():
        # Partitioned asset checks are a preview API in Dagster 1.13 that stemline relies on
        # knowingly; its warning is silenced while they are defined, and nowhere else.
        warnings.filterwarnings("ignore", category=dg.PreviewWarning)
        specs = [step.spec(tracks_partitions) for step in steps]
        check_specs = [c for step in steps for c in step.check_specs(tracks_partitions)]

        @dg.multi_asset(
            name="tracks",
            specs=specs,
            check_specs=check_specs,
            partitions_def=tracks_partitions,
            can_subset=True,
            backfill_policy=dg.BackfillPolicy.multi_run(max_partitions_per_run=tracks_per_run),
            pool="separation",
            retry_policy=TRANSIENT_RETRIES,
        )
        def tracks(
            context: dg.AssetExecutionContext,
            settings: StemlineSettings,
            engine: SeparationEngine,
            feature_pool: FeaturePool,
        ):
            """Decode, separate, analyse, evaluate and export the run's tracks."""
            if dg.AssetKey("stem_features") in context.selected_asset_keys:
                feature_pool.start()  # its workers import while the first track separates
            outcome, parts = BatchOutcome(), []
            for key in context.partition_keys:
                try:
                    parts.append(TrackPartition.of(context, key, settings, engine, feature_pool))
                except PartitionFailed as exc:
                    outcome.failed[key] = str(exc)
            run_batch(context, steps, parts, transient=BATCH_ERRORS, outcome=outcome)
            done = {name: len(keys) for name, keys in outcome.materialized.items()}
            context.log.info(f"{len(parts)} tracks: materialised {done}")
            fail_if_any(outcome)
            yield from ()

    return tracks
