"""Host work in threads of its own, so that the model never waits for it.

Reading a chunk (decoding, resampling to the model rate, metering the mixture) and writing one
(resampling back to the input rate, encoding, metering the residual) is host work; done in the
thread that runs the model it leaves the model idle. :class:`ReadAhead` computes the next items
of an iterator in a thread of its own while the model works on the current one;
:class:`BackgroundConsumer` consumes items (the stem writer, the residual meter) in one. Both
keep order, hold at most a few items, and hand an error over to the model's thread, where it
is raised at the item it concerns. The libraries doing the work (libsndfile, soxr, NumPy,
``scipy.fft``) release the GIL, so these threads run on other cores.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

T = TypeVar("T")

_STOP = object()
#: How often a blocked producer looks whether it has been stopped, in seconds.
_POLL_S = 0.05


class BackgroundConsumer:
    """Call ``consume(item)`` for every item :meth:`put`, in order, in one daemon thread.

    At most ``depth`` items wait, so a slow consumer holds the producer back instead of
    letting memory grow. The consumer's first exception stops the consuming (later items are
    dropped) and is raised to the producer by the next :meth:`put` or by :meth:`close`.
    """

    def __init__(self, consume: Callable[[Any], None], depth: int = 2, name: str = "") -> None:
        self._consume = consume
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name or None, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            if self._error is None:
                try:
                    self._consume(item)
                except BaseException as exc:  # handed to the producer's thread
                    self._error = exc

    def put(self, item: Any) -> None:
        """Queue ``item``; raises the consumer's exception if it has failed."""
        if self._error is not None:
            raise self._error
        self._queue.put(item)

    def close(self, raise_error: bool = True) -> None:
        """Wait until every queued item is consumed and stop the thread; then raise the
        consumer's exception, if any (unless ``raise_error`` is false: the producer is already
        failing with its own). Closing again only raises."""
        if not self._closed:
            self._closed = True
            self._queue.put(_STOP)
            self._thread.join()
        if raise_error and self._error is not None:
            raise self._error


class InlineConsumer:
    """:class:`BackgroundConsumer`'s interface, consuming in the caller's thread (no overlap:
    what the threads gain is measured against it)."""

    def __init__(self, consume: Callable[[Any], None]) -> None:
        self._consume = consume

    def put(self, item: Any) -> None:
        """Consume ``item`` now."""
        self._consume(item)

    def close(self, raise_error: bool = True) -> None:
        """Nothing to wait for."""


def consumer(
    consume: Callable[[Any], None], threaded: bool, depth: int = 2, name: str = ""
) -> BackgroundConsumer | InlineConsumer:
    """A :class:`BackgroundConsumer` of ``consume``, or an :class:`InlineConsumer` when not
    ``threaded``."""
    return BackgroundConsumer(consume, depth, name) if threaded else InlineConsumer(consume)


class ReadAhead(Generic[T]):
    """Iterate over ``items`` with up to ``depth`` items computed ahead in one daemon thread.

    The thread starts on construction. Items come out in order; an exception the iterator
    raises is raised by :func:`next` after the items before it. :meth:`close` (or leaving the
    ``with`` block) stops the thread and closes the iterator there, also when the consumer
    stops early; use it as a context manager so that a failing consumer never leaves the
    thread (and the file it reads) behind.

    Parameters
    ----------
    items : iterator
        Created by the caller, advanced only in the thread (a generator's body runs there).
    depth : int
        Items computed ahead of the one the consumer holds: memory against slack.
    name : str
        The thread's name.
    """

    def __init__(self, items: Iterator[T], depth: int = 1, name: str = "") -> None:
        if depth < 1:
            raise ValueError("depth must be at least 1")
        self._items = items
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._slots = threading.Semaphore(depth)  # taken before an item is computed
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._produce, name=name or None, daemon=True)
        self._thread.start()

    def _produce(self) -> None:
        try:
            while self._wait_for_slot():
                try:
                    item = next(self._items)
                except StopIteration:
                    self._queue.put((_STOP, None))
                    return
                self._queue.put((True, item))
        except BaseException as exc:  # handed to the consumer's thread
            self._queue.put((False, exc))
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()

    def _wait_for_slot(self) -> bool:
        """Wait until an item may be computed; ``False`` once stopped."""
        while not self._slots.acquire(timeout=_POLL_S):
            if self._stop.is_set():
                return False
        return not self._stop.is_set()

    def __iter__(self) -> ReadAhead[T]:
        return self

    def __next__(self) -> T:
        if self._done:
            raise StopIteration
        kind, value = self._queue.get()
        if kind is _STOP:
            self._done = True
            raise StopIteration
        if kind is False:
            self._done = True
            raise value
        self._slots.release()
        return value

    def close(self) -> None:
        """Stop the thread, wait for it, and close the iterator (in the thread)."""
        self._done = True
        self._stop.set()
        self._thread.join()

    def __enter__(self) -> ReadAhead[T]:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
