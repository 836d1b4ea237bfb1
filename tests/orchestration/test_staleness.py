"""``stemline run`` materialises what Dagster shows as stale, missing or failed, and only that.

Real runs on short demo songs against a test instance: nothing changed runs nothing; a new
code version of ``stem_features`` re-runs it and what reads it (``separation_eval``,
``transcription_prep``) for every track, not ``stems``; a new stems engine version re-runs
everything from ``stems`` down, not ``track_audio``; another model makes ``stems`` stale by
code version; stems materialised again alone make what reads them stale by data version. The
Dagster-internal stale status :mod:`orchestration.staleness` relies on is pinned here too, and
every verdict is checked to be the same with the records fetched in bulk as with a query per
look-up.
"""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest
import sqlalchemy

import assets.stem_features
import resources.separation_engine
from assets.partitions import track_id_of
from demodata import write_demo_songs
from orchestration import staleness
from orchestration.batch_runs import run_batches
from orchestration.definitions import TRACK_ASSET_NAMES, build_definitions
from orchestration.pipeline import RunSummary, run_folder
from orchestration.staleness import FAILED, MISSING, out_of_date, with_downstream
from resources.settings import StemlineSettings

SONG_SECONDS = 3.0
FROM_FEATURES = ("stem_features", "separation_eval", "transcription_prep")
FROM_STEMS = ("stems", *FROM_FEATURES)


@pytest.fixture(scope="module")
def processed(tmp_path_factory):
    """Two demo songs processed to the end: settings, instance, partition keys."""
    songs = tmp_path_factory.mktemp("songs")
    write_demo_songs(songs, n_songs=2, duration_s=SONG_SECONDS)
    settings = StemlineSettings(
        storage_root=str(tmp_path_factory.mktemp("data")), audio_roots=[str(songs)]
    )
    with dg.instance_for_test() as instance:
        summary, made = run_and_collect(settings, instance)
        assert len(summary.processed) == 2 and not summary.failed, summary
        keys = instance.get_dynamic_partitions("tracks")
        assert made == {asset: set(keys) for asset in TRACK_ASSET_NAMES}
        yield settings, instance, sorted(keys)


def run_and_collect(settings, instance) -> tuple[RunSummary, dict[str, set[str]]]:
    """Run ``stemline run``'s pipeline; return its summary and, from the materialisation
    events of the runs it started, the partitions each track asset was materialised for."""
    before = {run.run_id for run in instance.get_runs()}
    summary = run_folder(settings, instance=instance)
    made: dict[str, set[str]] = {}
    for run in instance.get_runs():
        if run.run_id in before:
            continue
        for entry in instance.all_logs(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ):
            event = entry.dagster_event
            if event.partition is not None:
                made.setdefault(event.asset_key.to_user_string(), set()).add(event.partition)
    return summary, made


def view(settings, instance, keys) -> dict[str, dict[str, str]]:
    """What the UI shows as out of date for ``keys``, under the current code; checked to be
    what Dagster's resolver answers with every look-up a query of its own."""
    graph = build_definitions(settings).resolve_asset_graph()
    found = out_of_date(instance, graph, TRACK_ASSET_NAMES, keys)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(staleness, "PrefetchedRecords", lambda instance, assets, keys: instance)
        assert out_of_date(instance, graph, TRACK_ASSET_NAMES, keys) == found
    return found


def test_nothing_changed_nothing_runs(processed):
    settings, instance, keys = processed
    assert view(settings, instance, keys) == {key: {} for key in keys}
    summary, made = run_and_collect(settings, instance)
    assert summary.processed == [] and len(summary.skipped) == 2 and made == {}


def test_changing_the_model_marks_stems_stale(processed):
    settings, instance, keys = processed
    key = keys[0]  # demo_00's
    assert key == f"demo-00-{track_id_of(key)}"  # readable: the MUSDB folder's name, then the id

    def stale(s):
        graph = build_definitions(s).resolve_asset_graph()
        return out_of_date(instance, graph, TRACK_ASSET_NAMES, [key])

    assert stale(settings) == {key: {}}
    other = StemlineSettings(
        storage_root=settings.storage_root,
        audio_roots=settings.audio_roots,
        model="spleeter:2stems-16kHz",
    )
    reasons = stale(other)[key]
    assert list(reasons) == ["stems"] and "code version" in reasons["stems"]
    # `stemline run` materialises it and everything computed from it.
    graph = build_definitions(other).resolve_asset_graph()
    assert set(with_downstream(graph, reasons, TRACK_ASSET_NAMES)) == set(FROM_STEMS)


def statements_of(call) -> int:
    """SQL statements executed (on any engine) while ``call()`` runs."""
    statements = []

    def count(*_args, **_kwargs) -> None:
        statements.append(1)

    sqlalchemy.event.listen(sqlalchemy.engine.Engine, "before_cursor_execute", count)
    try:
        call()
    finally:
        sqlalchemy.event.remove(sqlalchemy.engine.Engine, "before_cursor_execute", count)
    return len(statements)


def test_the_check_reads_the_event_log_a_few_times_per_asset_not_per_track(processed):
    """Looking at two tracks costs the same statements as looking at one: the records are
    fetched per asset, in bulk (``orchestration.prefetched_records``)."""
    settings, instance, keys = processed
    graph = build_definitions(settings).resolve_asset_graph()

    def check(some: list[str]) -> None:
        assert out_of_date(instance, graph, TRACK_ASSET_NAMES, some) == {k: {} for k in some}

    check(keys)  # brings Dagster's asset status cache up to date first
    one, both = (statements_of(lambda some=some: check(some)) for some in (keys[:1], keys))
    assert one == both > 0


def test_new_feature_code_version_reruns_features_and_downstream(processed, monkeypatch):
    settings, instance, keys = processed
    bumped = dataclasses.replace(assets.stem_features.STEP, code_version="test-bump")
    monkeypatch.setattr(assets.stem_features, "STEP", bumped)
    # The UI marks stem_features stale by code version; what reads it is not stale yet.
    reason = "stem_features has a new code version"
    assert view(settings, instance, keys) == {key: {"stem_features": reason} for key in keys}

    summary, made = run_and_collect(settings, instance)
    assert sorted(summary.processed) == sorted(summary.reasons) and len(summary.processed) == 2
    assert made == {asset: set(keys) for asset in FROM_FEATURES}  # not stems, not track_audio
    assert run_and_collect(settings, instance)[1] == {}  # up to date now

    monkeypatch.undo()  # back to the code's own version: stale again, the same assets re-run
    assert run_and_collect(settings, instance)[1] == {asset: set(keys) for asset in FROM_FEATURES}


def test_new_engine_version_reruns_everything_from_stems(processed, monkeypatch):
    settings, instance, keys = processed
    monkeypatch.setattr(resources.separation_engine, "ENGINE_VERSION", "test-bump")
    assert view(settings, instance, keys) == {
        key: {"stems": "stems has a new code version"} for key in keys
    }
    summary, made = run_and_collect(settings, instance)
    assert len(summary.processed) == 2 and not summary.failed
    assert made == {asset: set(keys) for asset in FROM_STEMS}  # not track_audio
    assert run_and_collect(settings, instance)[1] == {}

    monkeypatch.undo()
    assert run_and_collect(settings, instance)[1] == {asset: set(keys) for asset in FROM_STEMS}


def test_new_stems_data_version_makes_what_reads_them_stale(processed, monkeypatch):
    """Stems materialised again alone (by a new engine) have a new data version: the assets
    that read them are stale by data version until they run again."""
    settings, instance, keys = processed
    monkeypatch.setattr(resources.separation_engine, "ENGINE_VERSION", "test-bump-data")
    job = build_definitions(settings).resolve_job_def("process_tracks")
    done = run_batches(job, instance, dict.fromkeys(keys, ("stems",)), keys, 16, {}, {})
    assert sorted(done.processed) == keys and not done.failed
    found = view(settings, instance, keys)
    for key in keys:
        assert "stems" not in found[key]
        assert found[key]["stem_features"] == "stems has a new data version"
    monkeypatch.undo()
    assert run_and_collect(settings, instance)[1] == {asset: set(keys) for asset in FROM_STEMS}
    assert view(settings, instance, keys) == {key: {} for key in keys}


def test_a_failed_track_is_failed_and_tried_again(make_settings, instance, tmp_path):
    audio = tmp_path / "audio" / "broken"
    audio.mkdir(parents=True)
    (audio / "mixture.wav").write_bytes(b"RIFF, but not audio at all")
    settings = make_settings(audio.parent)
    first = run_folder(settings, instance=instance)
    assert len(first.failed) == 1 and set(first.reasons) == set(first.failed)
    (key,) = instance.get_dynamic_partitions("tracks")
    assert view(settings, instance, [key])[key] == dict.fromkeys(TRACK_ASSET_NAMES, FAILED)
    again = run_folder(settings, instance=instance)
    assert list(again.failed) == list(first.failed) and again.skipped == []


def test_a_new_track_is_missing(make_settings, instance, tmp_path):
    settings = make_settings(tmp_path)
    graph = build_definitions(settings).resolve_asset_graph()
    instance.add_dynamic_partitions("tracks", ["new-0123456789abcdef"])
    found = out_of_date(instance, graph, TRACK_ASSET_NAMES, ["new-0123456789abcdef"])
    assert found == {"new-0123456789abcdef": dict.fromkeys(TRACK_ASSET_NAMES, MISSING)}


@pytest.mark.parametrize(
    ("roots", "expected"),
    [
        ((), ()),
        (("track_audio",), TRACK_ASSET_NAMES),
        (("stems",), FROM_STEMS),
        (("stem_features",), FROM_FEATURES),
        (("separation_eval",), ("separation_eval",)),
        (("transcription_prep",), ("transcription_prep",)),
        (("transcription_prep", "stems"), FROM_STEMS),
    ],
)
def test_downstream_comes_from_the_asset_graph(tmp_path, make_settings, roots, expected):
    graph = build_definitions(make_settings(tmp_path)).resolve_asset_graph()
    assert with_downstream(graph, roots, TRACK_ASSET_NAMES) == expected
