"""The host threads beside the model: the background consumer behind the stem writer and the
residual meter, and the read-ahead behind the reader (order, back-pressure, errors, closing)."""

from __future__ import annotations

import threading
import time

import pytest

from separation.background import BackgroundConsumer, ReadAhead


def test_items_are_consumed_in_order_in_another_thread():
    seen, threads = [], set()

    def consume(item):
        seen.append(item)
        threads.add(threading.get_ident())

    consumer = BackgroundConsumer(consume, depth=2)
    for i in range(100):
        consumer.put(i)
    consumer.close()
    assert seen == list(range(100))
    assert threads and threading.get_ident() not in threads


def test_a_slow_consumer_holds_the_producer_back():
    release = threading.Event()
    consumer = BackgroundConsumer(lambda item: release.wait(), depth=2)
    consumer.put(0)  # being consumed (blocked)
    consumer.put(1)
    consumer.put(2)  # the queue is full now
    blocked = threading.Thread(target=consumer.put, args=(3,))
    blocked.start()
    blocked.join(timeout=0.3)
    assert blocked.is_alive()  # waits for room instead of queueing without bound
    release.set()
    blocked.join(timeout=5)
    consumer.close()


def test_the_consumers_error_reaches_the_producer():
    def consume(item):
        if item == 2:
            raise ValueError(f"bad item {item}")

    consumer = BackgroundConsumer(consume, depth=1)
    with pytest.raises(ValueError, match="bad item 2"):
        for i in range(1000):
            consumer.put(i)
    with pytest.raises(ValueError, match="bad item 2"):
        consumer.close()
    quiet = BackgroundConsumer(consume)
    quiet.put(2)
    quiet.close(raise_error=False)  # the producer is already failing with its own error


def _counting(n: int, made: list[int], fail_at: int | None = None):
    """A generator of ``0 .. n-1`` that notes each item as it is made, fails at ``fail_at``,
    and notes its closing as ``-1``."""
    try:
        for i in range(n):
            if i == fail_at:
                raise ValueError(f"bad block {i}")
            made.append(i)
            yield i
    finally:
        made.append(-1)


def test_read_ahead_keeps_order_and_reads_in_another_thread():
    threads = set()

    def items():
        for i in range(50):
            threads.add(threading.get_ident())
            yield i

    with ReadAhead(items(), depth=2) as ahead:
        assert list(ahead) == list(range(50))
    assert threads and threading.get_ident() not in threads


def _wait_until(condition, guard_s: float = 30.0) -> None:
    """Wait for the reading thread to get somewhere (a guard against a hang, not a timing)."""
    deadline = time.monotonic() + guard_s
    while not condition():
        assert time.monotonic() < deadline, "the reading thread never got there"
        time.sleep(0.01)


def test_read_ahead_computes_at_most_depth_items_ahead():
    made: list[int] = []
    with ReadAhead(_counting(100, made), depth=2) as ahead:
        assert next(ahead) == 0
        _wait_until(lambda: len(made) >= 3)
        time.sleep(0.2)  # room to run further ahead, which it must not
        assert made == [0, 1, 2]  # the one held and two ahead
        assert next(ahead) == 1
        _wait_until(lambda: len(made) >= 4)
        time.sleep(0.2)
        assert made == [0, 1, 2, 3]


def test_read_ahead_raises_the_error_after_the_items_before_it():
    made: list[int] = []
    ahead = ReadAhead(_counting(10, made, fail_at=3), depth=4)
    assert [next(ahead), next(ahead), next(ahead)] == [0, 1, 2]
    with pytest.raises(ValueError, match="bad block 3"):
        next(ahead)
    with pytest.raises(StopIteration):
        next(ahead)
    ahead.close()
    assert made[-1] == -1


def test_read_ahead_closed_early_stops_its_thread_and_closes_the_iterator():
    made: list[int] = []
    before = set(threading.enumerate())
    with ReadAhead(_counting(1_000_000, made), depth=1, name="reader") as ahead:
        assert next(ahead) == 0
    assert made[-1] == -1  # closed in the thread, as a file reader must be
    assert len(made) <= 4
    assert set(threading.enumerate()) == before
