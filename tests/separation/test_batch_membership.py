"""Batch membership: every track is counted out of the shared batcher exactly once.

Tracks separated together (``separate_files``, ``separate_many``) share one
:class:`~separation.batching.ModelBatcher`, which waits for every member before it runs a
model call. A track that fails before its first chunk, or in the middle of its chunks, must
leave, or the tracks batched with it would wait for it forever.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import soundfile as sf

from demodata.signals import RATE, synthetic_mix
from separation import AudioError, Separator
from separation.batching import Membership, ModelBatcher
from separation.multitrack import run_concurrently


def _finishes(fn: Callable[[], Any], batcher: ModelBatcher, timeout: float) -> Any:
    """``fn()``'s value, run in a daemon thread; fails the test if it does not end in time.

    A batcher still waiting for a track that is gone would hang the test run (the track
    threads are not daemons), so on a timeout it is made to stop waiting before failing.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        with batcher._cond:  # count every member out: each input then runs on its own
            batcher._active = -(10**6)
            batcher._flush_ready()
        thread.join(timeout)
        pytest.fail("the batcher kept waiting for a track that was gone")
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_a_membership_is_counted_out_once():
    batcher = ModelBatcher(lambda items: list(items), max_items=2)
    first, second = batcher.join(), batcher.join()
    assert isinstance(first, Membership) and first.batcher is batcher
    assert batcher.active == 2 and first.active
    first.leave()
    first.leave()  # a second leave does not count out another track
    assert batcher.active == 1 and not first.active
    with second:
        assert batcher(3) == 3  # the only member left: its input runs at once
    assert batcher.active == 0 and not second.active


def test_runner_counts_out_tracks_that_fail_before_or_inside_the_model_loop():
    calls: list[list[int]] = []

    def run(items):
        calls.append(list(items))
        return [i * 10 for i in items]

    batcher = ModelBatcher(run, max_items=3)
    tracks = {
        "early": None,  # fails before its first input (an unreadable file)
        "midway": [1, 2],  # fails after two inputs (NaN in the middle of a file)
        "short": [3],
        "long": [4, 5, 6, 7],
        "late": [8, 9],  # starts in a second round, when a slot frees up
    }
    seen: dict[str, list[int]] = {}

    def work(key: str, membership: Membership) -> list[int]:
        if tracks[key] is None:
            raise AudioError(f"{key}: not a readable audio file")
        with membership:  # what the model loop does: leave when its chunks are done
            seen[key] = [batcher(v) for v in tracks[key]]
            if key == "midway":
                raise AudioError(f"{key}: contains NaN or infinite samples")
        return seen[key]

    results = _finishes(lambda: dict(run_concurrently(batcher, tracks, work, 3)), batcher, 30)
    assert isinstance(results["early"], AudioError)
    assert isinstance(results["midway"], AudioError)
    assert seen["midway"] == [10, 20]
    for key in ("short", "long", "late"):
        assert results[key] == [v * 10 for v in tracks[key]]
    assert batcher.active == 0
    assert sorted(v for call in calls for v in call) == list(range(1, 10))


def test_the_next_track_starts_before_the_finished_one_is_handed_back():
    # One track at a time: while the caller handles a finished track (a pipeline computes its
    # features), the next one is already being separated.
    batcher = ModelBatcher(lambda items: list(items), max_items=1)
    started = {key: threading.Event() for key in "abc"}

    def work(key: str, membership: Membership) -> str:
        started[key].set()
        with membership:
            return key

    def consume() -> list[tuple[str, bool]]:
        handed = []
        for key, _ in run_concurrently(batcher, "abc", work, 1):
            following = chr(ord(key) + 1)
            # the generator is suspended here: only a track already submitted can start
            handed.append((key, following not in started or started[following].wait(30)))
        return handed

    assert _finishes(consume, batcher, 30) == [("a", True), ("b", True), ("c", True)]


@pytest.fixture(scope="module")
def batched_files(tmp_path_factory):
    """A good file, an unreadable one, one with NaN after its first chunk, another good one."""
    root = tmp_path_factory.mktemp("batch")
    good = [root / "good0.wav", root / "good1.wav"]
    sf.write(good[0], synthetic_mix(9.0, seed=20), RATE)
    sf.write(good[1], synthetic_mix(15.0, seed=21), RATE)
    unreadable = root / "unreadable.wav"
    unreadable.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    midway = root / "midway.wav"
    x = synthetic_mix(30.0, seed=22)
    x[int(20.0 * RATE), 0] = np.nan  # read only after the first chunk went through the model
    sf.write(midway, x, RATE, subtype="FLOAT")
    return root, good, unreadable, midway


def test_failing_files_leave_the_batch_and_the_others_finish(batched_files, separator_2stems):
    root, good, unreadable, midway = batched_files
    sep = Separator("spleeter:2stems", device="cpu", batch_tracks=3)
    order = [good[0], unreadable, midway, good[1]]
    batcher = sep._processor(sep.chunk_segments).batcher
    results = _finishes(
        lambda: dict(sep.separate_files(order, root / "out", codec="wav")), batcher, 600
    )
    assert "not a readable audio file" in str(results[unreadable])
    assert "NaN or infinite samples" in str(results[midway])
    assert batcher.active == 0
    assert not list((root / "out").glob("midway/*"))
    for path in good:
        alone = separator_2stems.separate_to_file(path, root / "alone", codec="wav")
        for stem, out in results[path].stems.items():
            np.testing.assert_allclose(sf.read(out)[0], sf.read(alone.stems[stem])[0], atol=1e-4)


def test_a_track_planned_for_another_processor_leaves_the_runners_batcher(batched_files):
    # Unbatched, a short file is planned with fewer segments than chunk_segments: its model
    # loop runs on another processor and must count it out of the runner's batcher first.
    root, good, unreadable, _ = batched_files
    sep = Separator("spleeter:2stems", device="cpu", chunk_segments=2, batch_tracks=1)
    results = _finishes(
        lambda: dict(sep.separate_files([good[0], unreadable], root / "plan", codec="wav")),
        sep._processor(2).batcher,
        600,
    )
    assert results[good[0]].n_samples == 9 * RATE
    assert isinstance(results[unreadable], AudioError)
    assert sep.plan(9 * RATE).chunk_segments == 1
    assert sep._processor(2).batcher.active == 0
    assert sep._processor(1).batcher.active == 0


def test_separate_many_with_a_bad_waveform_raises_and_leaves_no_member():
    sep = Separator("spleeter:2stems", device="cpu", batch_tracks=3)
    bad = synthetic_mix(5.0, seed=23)
    bad[100, 1] = np.inf
    mixes = [synthetic_mix(5.0, seed=24), bad, synthetic_mix(8.0, seed=25)]
    batcher = sep._processor(sep.chunk_segments).batcher
    with pytest.raises(AudioError, match="first at sample 100"):
        _finishes(lambda: sep.separate_many(mixes, RATE), batcher, 600)
    assert batcher.active == 0
