"""The stems of a run's tracks separated together (:func:`assets.stems.separate_batch`), through
real Dagster runs with the real 2stems weights: segments of several tracks share model calls,
the stems are the very ones each track gets alone, and a file that goes bad during the run
fails only its own partition, with its one-line reason; the same with a warm engine
(:mod:`separation.warm_engine`, served from a thread of this process) separating the run's
tracks, whose run never loads a model of its own."""

from __future__ import annotations

import os
import shutil
import threading
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import numpy as np
import pytest
import soundfile as sf
import soxr

from assets.batches import range_tags
from assets.partitions import TRACKS, partition_keys_for, track_id_of
from catalogue.inventory import update_inventory
from catalogue.store import TrackStore
from demodata.signals import RATE, synthetic_mix
from orchestration.definitions import build_definitions
from resources.feature_pool import FeaturePool
from resources.separation_engine import SeparationEngine
from resources.settings import StemlineSettings
from separation import Separator
from separation.warm_engine.lifecycle import SOCKET_ENV, engine_paths, listening
from separation.warm_engine.protocol import stems_code_digest
from separation.warm_engine.server import EngineServer

#: Three seeded tracks of a few seconds, one of them 48 kHz mono (resampled both ways), and
#: one that is replaced by junk after it was decoded (``bad`` sorts first: it is in the first
#: round of tracks in flight).
GOOD = {"t0.wav": (3.0, RATE, 2), "t1.flac": (4.5, 48000, 1), "t2.wav": (6.0, RATE, 2)}
BAD = "bad.wav"
#: Stems table columns that describe the run rather than the stems.
RUN_COLUMNS = {"path", "separation_s", "written_at", "run_id"}


@dataclass
class Outcome:
    """What one run of ``stems`` over the batch did."""

    settings: StemlineSettings
    keys: dict[str, str]  # file name -> partition key
    materialized: set[str]
    failed: dict[str, str]  # partition key -> reason
    calls: int  # model calls
    items: int  # chunks through the model
    logs: list[str]  # the separating run's log messages
    loaded_own_model: bool  # whether the run's engine resource loaded a model
    feature_workers: bool  # whether the runs (neither selects stem_features) started any


@pytest.fixture(scope="module")
def songs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("songs")
    for i, (name, (seconds, rate, channels)) in enumerate(sorted(GOOD.items())):
        mix = synthetic_mix(seconds, seed=30 + i)
        if rate != RATE:
            mix = soxr.resample(mix, RATE, rate)
        sf.write(folder / name, mix[:, :channels], rate, subtype="PCM_16")
    sf.write(folder / BAD, synthetic_mix(2.0, seed=39), RATE, subtype="PCM_16")
    return folder


def run_stems(
    songs: Path, root: Path, batch_tracks: int, warm: EngineServer | None = None
) -> Outcome:
    """Decode the batch in one run, spoil ``bad.wav``, then separate the batch in another run
    with ``batch_tracks`` tracks in flight, on the warm engine ``warm`` when given (else on
    the run's own model; no engine is reachable then)."""
    audio = root / "audio"
    shutil.copytree(songs, audio)
    settings = StemlineSettings(storage_root=str(root / "data"), audio_roots=[str(audio)])
    present = update_inventory(settings.layout.inventory, [audio]).present_tracks()
    pairs = list(zip(present["track_id"], present["path"], strict=True))
    keys, new = partition_keys_for(pairs, [])
    by_name = {Path(path).name: keys[track_id] for track_id, path in pairs}
    resources = {
        "engine": SeparationEngine(device="cpu", batch_tracks=batch_tracks),
        "feature_pool": FeaturePool(workers=2),  # started only by a run of stem_features
    }
    socket_path = warm.paths.socket if warm else root / "no-engine.sock"
    with (
        pytest.MonkeyPatch.context() as patch,
        dg.instance_for_test() as instance,
        dg.build_resources(resources) as live,
    ):
        patch.setenv(SOCKET_ENV, str(socket_path))
        instance.add_dynamic_partitions(TRACKS, new)
        shared = {k: dg.ResourceDefinition.hardcoded_resource(getattr(live, k)) for k in resources}
        job = build_definitions(settings, resources=shared).resolve_job_def("process_tracks")
        tags = range_tags(new[0], new[-1])
        decoded = job.execute_in_process(
            instance=instance, tags=tags, asset_selection=[dg.AssetKey("track_audio")]
        )
        assert decoded.success
        (audio / BAD).write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")  # after decoding
        result = job.execute_in_process(
            instance=instance, tags=tags, asset_selection=[dg.AssetKey("stems")],
            raise_on_error=False,
        )  # fmt: skip
        materialized = instance.get_materialized_partitions(dg.AssetKey("stems"))
        (failure,) = [e for e in result.all_events if e.is_step_failure]
        failed = failure.step_failure_data.user_failure_data.metadata["failed"].value
        logs = [
            record.user_message
            for record in instance.all_logs(result.run_id)
            if not record.is_dagster_event
        ]
        loaded_own_model = live.engine._separator is not None
        feature_workers = live.feature_pool._pool is not None
        separator = warm.separator if warm else live.engine.separator()
        batcher = separator._processor(1).batcher
        return Outcome(
            settings, by_name, materialized, failed, batcher.calls, batcher.items, logs,
            loaded_own_model, feature_workers,
        )  # fmt: skip


@pytest.fixture(scope="module")
def warm_engine(tmp_path_factory):
    """A warm engine with the options of the runs' engine resource, serving from a thread."""
    paths = engine_paths(tmp_path_factory.mktemp("warm") / "engine.sock")
    options = SeparationEngine(device="cpu").engine_options()
    separator = Separator(options.model, device="cpu").load()
    server = EngineServer(paths, separator, options, 600.0, stems_code_digest())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    while not listening(paths):
        assert thread.is_alive(), "the engine stopped before it listened"
        thread.join(0.05)
    yield server
    server.stop()
    thread.join(30)
    assert not thread.is_alive() and not paths.socket.exists()


@pytest.fixture(scope="module")
def outcomes(songs, tmp_path_factory, warm_engine) -> dict[str, Outcome]:
    return {
        "alone": run_stems(songs, tmp_path_factory.mktemp("alone"), batch_tracks=1),
        "batched": run_stems(songs, tmp_path_factory.mktemp("batched"), batch_tracks=3),
        "warm": run_stems(songs, tmp_path_factory.mktemp("warm_run"), 1, warm=warm_engine),
    }


def store(outcome: Outcome, name: str) -> TrackStore:
    settings = outcome.settings
    return TrackStore(settings.layout, track_id_of(outcome.keys[name]), settings.model_name)


@pytest.mark.parametrize("mode", ["alone", "batched", "warm"])
def test_a_file_spoiled_during_the_run_fails_only_its_own_partition(outcomes, mode):
    outcome = outcomes[mode]
    bad = outcome.keys[BAD]
    assert outcome.materialized == {outcome.keys[name] for name in GOOD}
    assert list(outcome.failed) == [bad]
    reason = outcome.failed[bad]
    assert reason.startswith(f"stems: {outcome.settings.audio_roots[0]}/{BAD}: changed while")
    assert "\n" not in reason
    assert not store(outcome, BAD).stems_dir.exists()


def test_batched_tracks_share_model_calls(outcomes):
    alone, batched = outcomes["alone"], outcomes["batched"]
    assert alone.items == batched.items == len(GOOD)  # one chunk each
    assert alone.calls == len(GOOD)
    assert batched.calls < len(GOOD)


@pytest.mark.parametrize("mode", ["batched", "warm"])
def test_batched_and_warm_engine_stems_are_the_stems_separated_one_by_one(outcomes, mode):
    alone, batched = outcomes["alone"], outcomes[mode]
    for name, (seconds, rate, _) in GOOD.items():
        rows = {r["stem"]: r for r in store(alone, name).stem_rows()}
        batched_rows = {r["stem"]: r for r in store(batched, name).stem_rows()}
        assert set(rows) == set(batched_rows) == {"vocals", "accompaniment"}
        for stem, row in rows.items():
            other = batched_rows[stem]
            assert {k: v for k, v in row.items() if k not in RUN_COLUMNS} == {
                k: v for k, v in other.items() if k not in RUN_COLUMNS
            }
            mine, file_rate = sf.read(other["path"], dtype="int16")
            ref, _ = sf.read(row["path"], dtype="int16")
            assert file_rate == rate and len(ref) == round(seconds * rate)
            np.testing.assert_array_equal(mine, ref)


def test_a_matching_warm_engine_separates_the_run_which_loads_no_model(outcomes, warm_engine):
    warm, alone = outcomes["warm"], outcomes["alone"]
    assert not warm.loaded_own_model and alone.loaded_own_model
    assert any(m.startswith(f"using the warm engine (pid {os.getpid()}") for m in warm.logs)
    assert any(m.startswith("no warm engine is running") for m in alone.logs)
    assert warm_engine.files_separated == len(GOOD)  # the spoiled file failed there
    assert warm.items == len(GOOD)


def test_runs_that_compute_no_features_start_no_feature_workers(outcomes):
    # The pool resource is set up for every run of the track step; its workers (essentia
    # imports, 1-3 s each) start only in a run that materialises stem_features.
    assert not any(outcome.feature_workers for outcome in outcomes.values())
