"""Busy time per stage of the separation, for benchmarks: an optional, per-separator clock.

A :class:`StageClock` handed to a :class:`~separation.Separator` (``stage_clock=``) is called by
the engine around each of its device stages (:mod:`separation.engine`):

- ``stft``: the chunk copied to the device, its STFT and magnitude;
- ``model``: one batched U-Net call (the thread that runs the batch is charged, not the
  threads waiting for it);
- ``istft``: masks, inverse STFT and the copy of the stems back to the host.

It measures only while :meth:`StageClock.recording` is open; otherwise a stage is a plain call,
so a separator can carry a clock through its timed runs and record only a dedicated pass.
While recording, each stage waits until the device has finished its result
(:func:`separation.backends.block_until_ready`): GPU backends return before the work is done,
and without the wait a stage's time would land on whichever later stage first reads a result.
That wait serialises host and device, so recorded passes are for the breakdown, not for
throughput. Host stages (decoding, resampling, encoding, metering) are timed by the caller with
:meth:`StageClock.time`.

Times are busy seconds summed over the threads that ran a stage, so stages that ran at once on
several threads can add up to more than the wall time.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")


class StageClock:
    """Seconds and calls per named stage, summed over threads; records only when asked."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seconds: dict[str, float] = {}
        self._calls: dict[str, int] = {}
        self._recording = 0

    @property
    def active(self) -> bool:
        """Whether stages are being recorded now."""
        return self._recording > 0

    @contextlib.contextmanager
    def recording(self) -> Iterator[StageClock]:
        """Record the stages run inside (nested blocks record once)."""
        with self._lock:
            self._recording += 1
        try:
            yield self
        finally:
            with self._lock:
                self._recording -= 1

    def add(self, stage: str, seconds: float, calls: int = 1) -> None:
        """Charge ``seconds`` (and ``calls``) to ``stage``."""
        with self._lock:
            self._seconds[stage] = self._seconds.get(stage, 0.0) + seconds
            self._calls[stage] = self._calls.get(stage, 0) + calls

    @contextlib.contextmanager
    def time(self, stage: str) -> Iterator[None]:
        """Charge the block's wall time to ``stage`` (always, recording or not)."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.add(stage, time.perf_counter() - started)

    def run(self, stage: str, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)``; while recording, waited for on the device and charged to ``stage``."""
        if not self.active:
            return fn(*args)
        from .backends import block_until_ready

        started = time.perf_counter()
        result = fn(*args)
        block_until_ready(result)
        self.add(stage, time.perf_counter() - started)
        return result

    def seconds(self) -> dict[str, float]:
        """Busy seconds per stage so far."""
        with self._lock:
            return dict(self._seconds)

    def calls(self) -> dict[str, int]:
        """Calls per stage so far."""
        with self._lock:
            return dict(self._calls)

    def reset(self) -> None:
        """Forget everything recorded."""
        with self._lock:
            self._seconds.clear()
            self._calls.clear()
