"""Every asset check, executed by Dagster on a really processed track (the track checks run in
the batch step of the track assets, :mod:`assets.track_batch`): it passes on the track
as written and fails, naming the problem, on a partition damaged the way it exists to catch
(a stem of the wrong length, NaN samples, clipping, stems that do not add up to the mixture,
features that do not cover the stem, a catalogue that does not show the Parquet files' rows),
and on an unreadable file it names the file instead of crashing.

One 3 s demo song is processed once for the module; each test damages files of it and puts
them back, so the tests must not run in parallel with each other. The check runs share one
separation engine and feature pool, set up once for the module and handed to each run the way
``stemline run`` hands them to its runs (``tests/run_resources.py``).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import polars as pl
import pytest
import soundfile as sf

from assets.partitions import TRACKS, track_id_of
from demodata import write_demo_songs
from orchestration.definitions import build_definitions
from orchestration.pipeline import run_folder
from resources.settings import StemlineSettings
from tests.run_resources import track_run_resources

SONG_SECONDS = 3.0
TRACK_CHECKS = ("stems_are_sound", "stems_sum_to_mixture", "stems_not_clipped")
FEATURE_CHECKS = ("features_cover_stems",)
BLOCKING = {"stems_are_sound", "features_cover_stems", "catalogue_matches_parquet"}


@dataclass(frozen=True)
class Track:
    """The processed track: its settings, the instance that knows its partition, its key, and
    the set-up resources its check runs share."""

    settings: StemlineSettings
    instance: dg.DagsterInstance
    key: str
    resources: dict[str, dg.ResourceDefinition]

    @property
    def track_id(self) -> str:
        return track_id_of(self.key)


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> Iterator[Track]:
    songs = tmp_path_factory.mktemp("songs")
    write_demo_songs(songs, n_songs=1, duration_s=SONG_SECONDS)  # demo_00 has a voice
    settings = StemlineSettings(
        storage_root=str(tmp_path_factory.mktemp("data")), audio_roots=[str(songs)]
    )
    with dg.instance_for_test() as instance:
        summary = run_folder(settings, instance=instance)
        assert len(summary.processed) == 1 and not summary.failed, summary
        (key,) = instance.get_dynamic_partitions(TRACKS)
        with track_run_resources(settings) as resources:
            yield Track(settings, instance, key, resources)


def run_checks(track: Track, *names: str, asset: str | None = None) -> dict:
    """Execute the named checks as a Dagster run (see :func:`execute`); returns
    ``{check name: AssetCheckEvaluation}`` from the run's events."""
    result = execute(track, *names, asset=asset)
    evaluations = {e.check_name: e for e in check_evaluations(track, result)}
    assert set(evaluations) == set(names), result.get_step_failure_events()
    return evaluations


def check_evaluations(track: Track, result: dg.ExecuteInProcessResult) -> list:
    """The check evaluations the run recorded (read from the instance: the in-process result
    leaves out the events a failed step logged)."""
    return [
        event.event_specific_data
        for record in track.instance.get_records_for_run(result.run_id).records
        if (event := record.event_log_entry.dagster_event) is not None
        and event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]


def execute(track: Track, *names: str, asset: str | None = None) -> dg.ExecuteInProcessResult:
    """Execute the named checks (only them) as a Dagster run, as the UI's "Execute checks"
    does: a check-only run tagged with the partition (none for the catalogue's check); with
    ``asset``, that asset is materialised in the same run."""
    defs = build_definitions(track.settings, resources=track.resources)
    keys = {key.name: key for key in defs.resolve_asset_graph().asset_check_keys}
    selection = dg.AssetSelection.checks(*(keys[name] for name in names))
    if asset is not None:
        selection = selection | dg.AssetSelection.assets(asset)
    job = dg.define_asset_job("checks_under_test", selection=selection)
    defs = dg.Definitions.merge(defs, dg.Definitions(jobs=[job]))
    partitioned = any(keys[name].asset_key.path != ["catalogue"] for name in names)
    # The partition goes in as the run tag the UI sets: Dagster 1.13's execute_in_process
    # refuses a partition_key for a run that materialises no partitioned asset.
    return defs.resolve_job_def("checks_under_test").execute_in_process(
        instance=track.instance,
        tags={"dagster/partition": track.key} if partitioned else {},
        raise_on_error=False,
    )


def failed(evaluation, severity: dg.AssetCheckSeverity) -> str:
    """The description of a failed evaluation, after checking that it failed as expected."""
    assert not evaluation.passed, evaluation
    assert evaluation.severity == severity
    assert evaluation.description, evaluation
    return evaluation.description


@contextmanager
def put_back(*paths: Path) -> Iterator[None]:
    """Restore ``paths`` to their current bytes (or absence) afterwards."""
    saved = {p: p.read_bytes() if p.exists() else None for p in paths}
    try:
        yield
    finally:
        for path, data in saved.items():
            if data is None:
                path.unlink(missing_ok=True)
            else:
                path.write_bytes(data)


def stems_table(track: Track) -> Path:
    return track.settings.layout.stems_table(track.settings.model_name, track.track_id)


def rewrite_stem_rows(track: Track, stem: str, **values) -> None:
    """Set columns of one stem's row of the stems table."""
    table = pl.read_parquet(stems_table(track))
    changed = table.with_columns(
        [
            pl.when(pl.col("stem") == stem)
            .then(pl.lit(value, dtype=table.schema[name]))
            .otherwise(pl.col(name))
            .alias(name)
            for name, value in values.items()
        ]
    )
    changed.write_parquet(stems_table(track))


def stem_file(track: Track, stem: str) -> Path:
    rows = pl.read_parquet(stems_table(track)).filter(pl.col("stem") == stem)
    return Path(rows["path"][0])


# -- the untouched track passes every check --------------------------------------------------


def test_every_check_passes_on_the_track_as_processed(track):
    defs = build_definitions(track.settings)
    graph = defs.resolve_asset_graph()
    names = {key.name for key in graph.asset_check_keys}
    assert names == {*TRACK_CHECKS, *FEATURE_CHECKS, "catalogue_matches_parquet"}
    assert {k.name for k in graph.asset_check_keys if graph.get_check_spec(k).blocking} == BLOCKING
    for group in (TRACK_CHECKS + FEATURE_CHECKS, ("catalogue_matches_parquet",)):
        for name, evaluation in run_checks(track, *group).items():
            assert evaluation.passed, (name, evaluation.description, evaluation.metadata)


# -- stems_are_sound ---------------------------------------------------------------------------


def test_a_stem_of_the_wrong_length_fails(track):
    path = stem_file(track, "vocals")
    with put_back(path):
        data, rate = sf.read(path, dtype="int16")
        sf.write(path, data[:-1000], rate, format="FLAC", subtype="PCM_16")
        evaluation = run_checks(track, "stems_are_sound")["stems_are_sound"]
    description = failed(evaluation, dg.AssetCheckSeverity.ERROR)
    n = len(data)
    assert description == f"vocals: {n - 1000} samples at {rate} Hz, mixture {n} at {rate} Hz"


def test_a_stem_with_nan_samples_fails(track, tmp_path):
    # FLAC holds integers only; a float WAV stem can carry NaN.
    data, rate = sf.read(stem_file(track, "accompaniment"), dtype="float32")
    data[100:200] = np.nan
    nan_stem = tmp_path / "accompaniment.wav"
    sf.write(nan_stem, data, rate, subtype="FLOAT")
    with put_back(stems_table(track)):
        rewrite_stem_rows(track, "accompaniment", path=str(nan_stem), codec="wav")
        evaluation = run_checks(track, "stems_are_sound")["stems_are_sound"]
    assert failed(evaluation, dg.AssetCheckSeverity.ERROR) == (
        "accompaniment: NaN or infinite samples"
    )


def test_a_missing_stem_file_is_named_not_a_crash(track):
    path = stem_file(track, "vocals")
    with put_back(path):
        path.unlink()
        evaluation = run_checks(track, "stems_are_sound")["stems_are_sound"]
    assert failed(evaluation, dg.AssetCheckSeverity.ERROR) == f"vocals: {path} is missing"


# -- stems_not_clipped -------------------------------------------------------------------------


def test_clipped_stems_warn(track):
    with put_back(stems_table(track)):
        rewrite_stem_rows(track, "vocals", clipped_samples=37)
        evaluation = run_checks(track, "stems_not_clipped")["stems_not_clipped"]
    assert failed(evaluation, dg.AssetCheckSeverity.WARN) == "vocals: 37 samples clipped"
    assert evaluation.metadata["clipped_samples"].value == {"vocals": 37}


# -- stems_sum_to_mixture ----------------------------------------------------------------------


def test_stems_that_do_not_add_up_to_the_mixture_warn(track):
    # The stems step measures the residual as it writes; -20 dB is what a stem lost in
    # writing (or a broken mask) gives.
    with put_back(stems_table(track)):
        table = pl.read_parquet(stems_table(track))
        table.with_columns(pl.lit(-20.0, pl.Float32).alias("mixture_residual_db")).write_parquet(
            stems_table(track)
        )
        evaluation = run_checks(track, "stems_sum_to_mixture")["stems_sum_to_mixture"]
    description = failed(evaluation, dg.AssetCheckSeverity.WARN)
    assert "-20.0 dB" in description and "-50.0 dB" in description, description
    assert evaluation.metadata["residual_db"].value == pytest.approx(-20.0)


# -- features_cover_stems ----------------------------------------------------------------------


@pytest.mark.parametrize("frames", [100, 0])  # 0: a voiced stem without any pitch frames
def test_features_not_covering_the_stem_fail(track, frames):
    layout, model = track.settings.layout, track.settings.model_name
    pitch = layout.features("pitch", track.track_id, model, "vocals")
    with put_back(pitch):
        pl.read_parquet(pitch).head(frames).write_parquet(pitch)
        evaluation = run_checks(track, "features_cover_stems")["features_cover_stems"]
    assert failed(evaluation, dg.AssetCheckSeverity.ERROR) == (
        f"vocals: {frames} pitch frames for {SONG_SECONDS:.2f} s"
    )


def test_a_truncated_feature_summary_is_named_not_a_crash(track):
    layout, model = track.settings.layout, track.settings.model_name
    summary = layout.features("summary", track.track_id, model, "accompaniment")
    with put_back(summary):
        summary.write_bytes(summary.read_bytes()[:100])
        evaluation = run_checks(track, "features_cover_stems")["features_cover_stems"]
    description = failed(evaluation, dg.AssetCheckSeverity.ERROR)
    assert description.startswith(f"accompaniment: {summary} is unreadable"), description


# -- catalogue_matches_parquet -----------------------------------------------------------------


def test_a_catalogue_not_showing_the_stored_rows_fails(track, tmp_path):
    layout = track.settings.layout
    (evaluation_file,) = layout.root.glob("evaluation/*/*.parquet")
    rows = pl.read_parquet(evaluation_file).height
    with put_back(evaluation_file, layout.catalogue):
        # The catalogue is written while the track has no evaluation yet; then it gets one.
        shutil.move(evaluation_file, tmp_path / "evaluation.parquet")
        written = run_checks(track, "catalogue_matches_parquet", asset="catalogue")
        assert written["catalogue_matches_parquet"].passed
        shutil.move(tmp_path / "evaluation.parquet", evaluation_file)
        evaluation = run_checks(track, "catalogue_matches_parquet")["catalogue_matches_parquet"]
    assert failed(evaluation, dg.AssetCheckSeverity.ERROR) == (
        f"evaluation: the catalogue shows 0 rows, its Parquet files hold {rows}"
    )
    assert evaluation.metadata["mismatched"].value == {"evaluation": [0, rows]}


def test_an_unreadable_parquet_file_is_named_not_a_crash(track):
    layout, model = track.settings.layout, track.settings.model_name
    summary = layout.features("summary", track.track_id, model, "vocals")
    with put_back(summary):
        summary.write_bytes(summary.read_bytes()[:100])
        evaluation = run_checks(track, "catalogue_matches_parquet")["catalogue_matches_parquet"]
    description = failed(evaluation, dg.AssetCheckSeverity.ERROR)
    assert description.startswith(f"{summary} is unreadable"), description
    assert "\n" not in description


def test_a_failed_blocking_check_stops_the_assets_downstream(track):
    # A run that checks the stems and then computes features: the check fails, so the
    # features are not computed for the track, and its partition fails, naming the check.
    path = stem_file(track, "vocals")
    before = track.instance.get_latest_materialization_event(dg.AssetKey("stem_features"))
    with put_back(path):
        data, rate = sf.read(path, dtype="int16")
        sf.write(path, data[:-1000], rate, format="FLAC", subtype="PCM_16")
        result = execute(track, "stems_are_sound", asset="stem_features")
    (evaluation,) = check_evaluations(track, result)
    assert evaluation.check_name == "stems_are_sound" and not evaluation.passed
    assert not result.success
    failure = result.get_step_failure_events()[0].step_failure_data.user_failure_data
    assert failure.metadata["failed"].value == {
        track.key: f"stems_are_sound: vocals: {len(data) - 1000} samples at {rate} Hz, "
        f"mixture {len(data)} at {rate} Hz"
    }
    after = track.instance.get_latest_materialization_event(dg.AssetKey("stem_features"))
    assert after.run_id == before.run_id  # no new materialisation
