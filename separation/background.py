"""One background thread that consumes items in order: the stem writer of ``separate_to_file``.

Writing a chunk's stems (resampling back to the input rate, encoding FLAC, metering the
residual) is single-threaded work; done in the caller's thread it leaves the model idle. In
this thread it runs while the model computes the next chunk.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = object()


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
        failing with its own)."""
        self._queue.put(_STOP)
        self._thread.join()
        if raise_error and self._error is not None:
            raise self._error
