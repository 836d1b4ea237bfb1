"""Batching U-Net calls across tracks that are separated at the same time.

A GPU idles when it gets one chunk (two 11.9 s segments) per call: the model call is short and
the STFT, masks, audio decoding and encoding around it run in between. When several tracks are
separated concurrently (one thread each, :meth:`separation.Separator.separate_files`), every
track's thread hands its chunk to a shared :class:`ModelBatcher`; the batcher waits until each
active track has handed one in (or the batch is full), runs the model once on all of them, and
gives every thread its own result back. Each track's result is exactly what it gets alone: the
model sees the same segments, only more of them per call.

The batcher must know which tracks will still hand something in, or it would wait forever for a
track that failed or finished. Each track therefore holds a :class:`Membership`, created by
:meth:`ModelBatcher.join` and passed down the track's call chain explicitly (no thread-local
state): the cross-track runner (:mod:`separation.multitrack`) joins a track before its thread
starts, so the first model call already waits for every track of the first round; the track's
model loop leaves when its last chunk is through the model; the runner leaves again when the
track's work returns, which only counts when the track failed before reaching the model.
Leaving is idempotent, so every track is counted out exactly once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any


class _Slot:
    __slots__ = ("done", "error", "item", "result")

    def __init__(self, item: Any) -> None:
        self.item = item
        self.result: Any = None
        self.error: BaseException | None = None
        self.done = False


class Membership:
    """One track's place among the tracks a :class:`ModelBatcher` waits for.

    Made by :meth:`ModelBatcher.join`; :meth:`leave` counts the track out once, later calls do
    nothing. Usable as a context manager that leaves on exit.
    """

    __slots__ = ("_left", "batcher")

    def __init__(self, batcher: ModelBatcher) -> None:
        self.batcher = batcher
        self._left = False

    @property
    def active(self) -> bool:
        """Whether the batcher still waits for this track's inputs."""
        return not self._left

    def leave(self) -> None:
        """Count the track out; runs the waiting batch if the other tracks are all waiting."""
        self.batcher._release(self)

    def __enter__(self) -> Membership:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.leave()


class ModelBatcher:
    """Collect model inputs from concurrent tracks into batched calls.

    Parameters
    ----------
    run : callable
        Takes a list of inputs (at most ``max_items``) and returns their results in order.
    max_items : int
        Most inputs per call; a full batch runs without waiting for the other tracks.

    Each track joins (:meth:`join`) before its first input and leaves its :class:`Membership`
    after its last (also on failure); :meth:`__call__` blocks until the batch holding its input
    has run.
    """

    def __init__(self, run: Callable[[Sequence[Any]], Sequence[Any]], max_items: int) -> None:
        if max_items < 1:
            raise ValueError("max_items must be at least 1")
        self._run = run
        self.max_items = max_items
        self._cond = threading.Condition()
        self._pending: list[_Slot] = []
        self._active = 0
        self.calls = 0
        self.items = 0

    @property
    def active(self) -> int:
        """Tracks joined and not yet left."""
        with self._cond:
            return self._active

    def join(self) -> Membership:
        """Register a track that will hand in inputs; leave the returned membership after."""
        with self._cond:
            self._active += 1
        return Membership(self)

    def _release(self, member: Membership) -> None:
        """Count ``member`` out, once; runs the waiting batch if the others are all waiting."""
        with self._cond:
            if member._left:
                return
            member._left = True
            self._active -= 1
            self._flush_ready()

    def __call__(self, item: Any) -> Any:
        """The model's result for ``item``, computed in a batch with other tracks' inputs."""
        slot = _Slot(item)
        with self._cond:
            self._pending.append(slot)
            self._flush_ready()
            while not slot.done:
                self._cond.wait()
        if slot.error is not None:
            raise slot.error
        return slot.result

    def _flush_ready(self) -> None:
        """Run batches while every active track is waiting or a batch is full."""
        while self._pending and len(self._pending) >= min(max(self._active, 1), self.max_items):
            self._flush()

    def _flush(self) -> None:
        """Run the pending inputs (caller holds the lock) and wake their threads."""
        batch, self._pending = self._pending[: self.max_items], self._pending[self.max_items :]
        try:
            results = self._run([slot.item for slot in batch])
            for slot, result in zip(batch, results, strict=True):
                slot.result = result
        except BaseException as exc:  # every waiting track sees the model's failure
            for slot in batch:
                slot.error = exc
        for slot in batch:
            slot.done = True
        self.calls += 1
        self.items += len(batch)
        self._cond.notify_all()
