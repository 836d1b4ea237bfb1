"""The background consumer behind the stem writer: order, back-pressure, errors."""

from __future__ import annotations

import threading

import pytest

from separation.background import BackgroundConsumer


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
