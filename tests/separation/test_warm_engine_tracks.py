"""The client side of a pipeline batch on the warm engine (``separate_tracks``), against a
scripted engine on a socket pair: results travel whole, a bad input stays an ``AudioError``
with its own message, a batch turned away is said before anything runs, and an engine that
dies mid-batch fails each track without a result with one line naming the file and the log.

The real engine serving a real Dagster run is tested in ``tests/assets/test_stems_batch.py``.
"""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path

import pytest

from separation.audio import AudioError
from separation.file_separation import SeparationResult
from separation.warm_engine.client import EngineConnection, EngineRefusal, EngineUnavailable
from separation.warm_engine.track_jobs import EngineTracks, result_from_json, result_to_json

ENGINE = {"pid": 4242, "log": "/run/engine.sock.log", "checkpoint_sha256": "ab" * 32}
JOBS = [("/music/a.wav", "/data/a"), ("/music/b.wav", "/data/b"), ("/music/c.wav", "/data/c")]


def result(name: str) -> SeparationResult:
    return SeparationResult(
        source=Path(f"/music/{name}.wav"),
        stems={"vocals": Path(f"/data/{name}/vocals.flac")},
        sample_rate=44100, n_samples=88200, seconds=0.25, clipped_samples={"vocals": 3},
        levels_dbfs={"vocals": (-20.5, -3.25)}, mixture_residual_db=-61.5,
    )  # fmt: skip


def scripted_engine(events: list[dict]) -> tuple[EngineTracks, list[dict]]:
    """A client whose engine reads the request, sends ``events`` and hangs up; and the list
    that receives the request."""
    ours, theirs = socket.socketpair()
    received: list[dict] = []

    def engine() -> None:
        with theirs, theirs.makefile("rb") as reader:
            received.append(json.loads(reader.readline()))
            for event in events:
                theirs.sendall(json.dumps(event).encode() + b"\n")

    threading.Thread(target=engine, daemon=True).start()
    return EngineTracks(EngineConnection(ours, dict(ENGINE))), received


def test_a_result_travels_whole():
    original = result("a")
    assert result_from_json(json.loads(json.dumps(result_to_json(original)))) == original
    silent = SeparationResult(Path("/x.wav"), {}, 8000, 0, 0.0, mixture_residual_db=None)
    assert result_from_json(result_to_json(silent)) == silent


def test_results_failures_and_an_engine_dying_mid_batch():
    tracks, received = scripted_engine([
        {"event": "queued"},
        {"event": "started"},
        {"event": "progress", "file": "/music/b.wav", "done": 1, "n": 2},
        {"event": "track", "index": 1, "result": result_to_json(result("b"))},
        {"event": "track_failed", "index": 0, "audio_error": True, "traceback": False,
         "message": "/music/a.wav: not an audio file"},
    ])  # fmt: skip
    assert tracks.checkpoint_sha256 == ENGINE["checkpoint_sha256"]
    outcomes = dict(tracks.start(JOBS, filename_format="{instrument}.{codec}", codec="flac"))
    (request,) = received
    assert request == {
        "op": "separate_tracks", "filename_format": "{instrument}.{codec}", "codec": "flac",
        "jobs": [list(job) for job in JOBS],
    }  # fmt: skip
    assert outcomes[1] == result("b")
    assert isinstance(outcomes[0], AudioError)
    assert str(outcomes[0]) == "/music/a.wav: not an audio file"
    died = str(outcomes[2])
    assert died.startswith("/music/c.wav: the warm engine (pid 4242) failed during this batch")
    assert died.endswith("see /run/engine.sock.log") and "\n" not in died


def test_an_unexpected_failure_names_the_file_and_the_engine_log():
    tracks, _ = scripted_engine([
        {"event": "started"},
        {"event": "track_failed", "index": 0, "audio_error": False, "traceback": True,
         "message": "MemoryError: out of memory"},
        {"event": "done"},
    ])  # fmt: skip
    ((index, error),) = list(
        tracks.start(JOBS[:1], filename_format="{instrument}.wav", codec="wav")
    )
    assert index == 0 and isinstance(error, RuntimeError) and not isinstance(error, AudioError)
    assert str(error) == (
        "/music/a.wav: the warm engine (pid 4242) failed on it: MemoryError: out of memory; "
        "its traceback is in /run/engine.sock.log"
    )


@pytest.mark.parametrize(
    ("event", "error"),
    [("unavailable", EngineUnavailable), ("refused", EngineRefusal)],
)
def test_a_batch_turned_away_before_it_starts_raises_from_start(event, error):
    tracks, _ = scripted_engine([{"event": event, "message": "the warm engine is stopping"}])
    with pytest.raises(error, match="the warm engine is stopping"):
        tracks.start(JOBS, filename_format="{instrument}.{codec}", codec="flac")


def test_an_engine_that_hangs_up_before_starting_is_unavailable():
    tracks, _ = scripted_engine([])
    with pytest.raises(EngineUnavailable, match="did not start the batch"):
        tracks.start(JOBS, filename_format="{instrument}.{codec}", codec="flac")
