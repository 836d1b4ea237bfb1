"""Batching U-Net calls across tracks that are separated at the same time.

A GPU idles when it gets one chunk (two 11.9 s segments) per call: the model call is short and
the STFT, masks, audio decoding and encoding around it run in between. When several tracks are
separated concurrently (one thread each, :meth:`separation.Separator.separate_files`), every
track's thread hands its chunk to a shared :class:`ModelBatcher`; the batcher waits until each
active track has handed one in (or the batch is full), runs the model once on all of them, and
gives every thread its own result back. Each track's result is exactly what it gets alone: the
model sees the same segments, only more of them per call.
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


class ModelBatcher:
    """Collect model inputs from concurrent tracks into batched calls.

    Parameters
    ----------
    run : callable
        Takes a list of inputs (at most ``max_items``) and returns their results in order.
    max_items : int
        Most inputs per call; a full batch runs without waiting for the other tracks.

    Each track's thread calls :meth:`join` before its first input and :meth:`leave` after its
    last (also on failure); :meth:`__call__` blocks until the batch holding its input has run.
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

    def join(self) -> None:
        """Register a track that will hand in inputs."""
        with self._cond:
            self._active += 1

    def leave(self) -> None:
        """Unregister a track; runs the waiting batch if the others are all waiting."""
        with self._cond:
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
