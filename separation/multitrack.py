"""Separating several tracks at once so that their chunks share model calls.

``Separator.separate_files`` and ``separate_many`` run up to ``batch_tracks`` tracks at a time,
one thread each, all feeding the same :class:`~separation.batching.ModelBatcher`, which turns
one chunk from each track into one model call (the GPU is busy instead of waiting for one
track's decoding and encoding). A track's failure is its own result: the others go on.

Each track joins the batcher before its thread starts, so the first model call already waits
for every track of the first round, and its :class:`~separation.batching.Membership` is handed
to the track's work as an argument. The track's model loop leaves it when its last chunk is
through the model; the runner leaves it again when the work returns or raises, which counts
only for a track that never reached the model (an unreadable file, say). Either way the batcher
stops waiting for the track exactly once, and never for a track that is gone.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, as_completed, wait
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from .batching import Membership, ModelBatcher

K = TypeVar("K")
R = TypeVar("R")


def run_concurrently(
    batcher: ModelBatcher,
    keys: Iterable[K],
    work: Callable[[K, Membership], R],
    max_tracks: int,
) -> Iterator[tuple[K, R | Exception]]:
    """Run ``work(key, membership)`` for every key, ``max_tracks`` threads at a time.

    Parameters
    ----------
    batcher : ModelBatcher
        The batcher the tracks' chunks go through; each track is joined to it before its
        thread starts.
    keys : iterable
        One key per track (a path, an index).
    work : callable
        Separates one track, handing ``membership`` down to its model loop
        (:func:`separation.stream.iter_model_rate`).
    max_tracks : int
        Tracks in flight at once.

    Yields
    ------
    (key, result or exception)
        As tracks finish; an ``Exception`` a track raised is its result, not raised here.
    """
    slots = threading.Semaphore(max_tracks)

    def run(key: K, membership: Membership) -> R | Exception:
        try:
            return work(key, membership)
        except Exception as exc:  # one track's failure is its own result
            return exc
        finally:  # a track that never reached the model is counted out here
            membership.leave()
            slots.release()

    keys = list(keys)
    with ThreadPoolExecutor(max_tracks, thread_name_prefix="separate") as pool:
        futures: dict[Future, Any] = {}
        first = keys[:max_tracks]
        members = []
        for _ in first:
            slots.acquire()
            members.append(batcher.join())
        for key, membership in zip(first, members, strict=True):
            futures[pool.submit(run, key, membership)] = key
        for key in keys[len(first) :]:
            # Start the next track as soon as a slot is free, then hand back the finished one:
            # what the caller does with it (a pipeline computes its features) overlaps the next
            # track's separation.
            slots.acquire()
            futures[pool.submit(run, key, batcher.join())] = key
            wait(futures, return_when=FIRST_COMPLETED)
            yield from _pop_done(futures)
        for future in as_completed(list(futures)):
            yield futures.pop(future), future.result()


def _pop_done(futures: dict[Future, Any]) -> Iterator[tuple[Any, Any]]:
    """Yield and forget the futures that are done."""
    for future in [f for f in futures if f.done()]:
        yield futures.pop(future), future.result()
