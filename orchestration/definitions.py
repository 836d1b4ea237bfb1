"""The Dagster definitions of stemline: assets, checks, the folder sensor, jobs, resources.

``dagster dev -w workspace.yaml`` (or ``stemline ui``) loads ``defs`` from here; settings come
from ``stemline.toml`` / ``STEMLINE_*`` variables (:mod:`resources.settings`), including the
executor every job runs on (:mod:`orchestration.executors`). Dask workers and Kubernetes step
pods import this module too, so they must see the same settings (``deploy/README.md``).
"""

from __future__ import annotations

from collections.abc import Mapping

from features.worker import quiet_essentia_log

# Every process that loads the definitions (`dagster dev`'s step processes, Dask workers,
# Kubernetes step pods) keeps essentia's INFO start-up line off the console; it must run
# before the assets below import the feature modules.
quiet_essentia_log()

import dagster as dg

from assets.catalogue_file import catalogue
from assets.checks import catalogue_matches_parquet
from assets.dataset_report import dataset_report
from assets.track_assets import make_track_assets
from resources.feature_pool import FeaturePool
from resources.separation_engine import SeparationEngine
from resources.settings import StemlineSettings
from separation.configs import load_config
from separation.tensorflow_env import configure_tensorflow

from .executors import executor_for
from .sensors import make_folder_sensor

# Every step process of `dagster dev` (and every Dask worker or Kubernetes step pod) starts by
# loading this module: set TensorFlow's environment there before a step imports it (quiet
# start-up, oneDNN on; `stemline -v` passes TF_CPP_MIN_LOG_LEVEL=0 down to keep the logs).
configure_tensorflow()

TRACK_ASSET_NAMES = (
    "track_audio",
    "stems",
    "stem_features",
    "separation_eval",
    "transcription_prep",
)
CATALOGUE_ASSET_NAMES = ("catalogue", "dataset_report")
#: Tag of the runs that rewrite catalogue.duckdb. Executors that ignore Dagster pools (Dask)
#: can still keep one catalogue writer with a run-coordinator limit on it (deploy/README.md).
CATALOGUE_WRITER_TAG = "stemline/catalogue-writer"


def build_definitions(
    settings: StemlineSettings | None = None,
    resources: Mapping[str, dg.ResourceDefinition] | None = None,
) -> dg.Definitions:
    """Definitions for ``settings`` (default: loaded from the config file and environment).

    Every job, including the UI's ad-hoc materialisations, runs on the executor that
    ``settings.executor`` names; ``None`` (``multiprocess``) keeps Dagster's default.
    ``resources`` replaces resources by key: ``stemline run`` passes the engine and the
    feature pool it set up once for all its runs (:func:`.pipeline.shared_resources`).
    """
    settings = settings or StemlineSettings.load()
    engine = SeparationEngine(
        model=settings.model,
        device=settings.device,
        batch_tracks=settings.batch_tracks,
        warm_engine=settings.warm_engine,
    )
    tracks = make_track_assets(engine, settings.tracks_per_run)
    process_tracks = dg.define_asset_job(
        "process_tracks",
        selection=dg.AssetSelection.assets(*TRACK_ASSET_NAMES),
        description="Everything for a batch of tracks: decode, separate, features, evaluation, "
        "exports.",
    )
    refresh_catalogue = dg.define_asset_job(
        "refresh_catalogue",
        selection=dg.AssetSelection.assets(*CATALOGUE_ASSET_NAMES),
        description="Rewrite catalogue.duckdb and the dataset report.",
        tags={CATALOGUE_WRITER_TAG: "true"},
    )
    return dg.Definitions(
        assets=[tracks, catalogue, dataset_report],
        asset_checks=[catalogue_matches_parquet],
        jobs=[process_tracks, refresh_catalogue],
        sensors=[
            make_folder_sensor(process_tracks, engine.code_version(), settings.tracks_per_run)
        ],
        resources={
            "settings": settings,
            "engine": engine,
            # One worker per stem of the model (a track's stems are analysed at once).
            "feature_pool": FeaturePool(workers=len(load_config(settings.model).instruments)),
            **(resources or {}),
        },
        executor=executor_for(settings),
    )


defs = build_definitions()
