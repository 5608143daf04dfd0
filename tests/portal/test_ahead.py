"""AheadWhileWaiting: the producer runs only while the consumer waits (for its next item, or for
PostgreSQL), keeps order, hands its errors over, and stops when the consumer leaves."""
import sys
import threading
import time

import pytest
from django.db import connection

from iris_portal.ahead import SWITCH_INTERVAL, AheadWhileWaiting


def _counting(units: int, done: list, closed: threading.Event | None = None, fail_at: int | None = None):
    def produce(pause):
        try:
            for number in range(units):
                pause()
                if number == fail_at:
                    raise ValueError(f"unit {number} is bad")
                sum(range(200))  # a small unit of pure-Python work
                done.append(number)
                yield number
        finally:
            if closed is not None:
                closed.set()
    return produce


def _busy(seconds: float) -> None:
    """Pure Python for a while, no waiting (the GIL is only handed over at switch intervals)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        sum(range(100))


def test_items_arrive_in_order_and_the_producer_ends():
    done: list = []
    with AheadWhileWaiting(_counting(50, done), depth=3) as items:
        assert list(items) == list(range(50))
        assert next(items, "end") == "end"  # asked again after the end: still the end


def test_the_producer_does_not_run_while_the_consumer_runs_python():
    done: list = []
    with AheadWhileWaiting(_counting(10_000, done), depth=10_000) as items:
        next(items)
        before = len(done)
        _busy(0.05)  # ~250 switch intervals: a free-running producer would make thousands of units
        # The unit it was in when the gate shut may be finished, nothing more.
        assert len(done) - before <= 1
        assert sys.getswitchinterval() == pytest.approx(SWITCH_INTERVAL)


@pytest.mark.django_db
def test_the_producer_runs_while_the_consumer_waits_for_postgresql():
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (the suite runs on it)")
    done: list = []
    with AheadWhileWaiting(_counting(100_000, done), connections=[connection], depth=100_000) as items:
        next(items)
        before = len(done)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(0.05)")
        during = len(done) - before
        _busy(0.02)
        after = len(done) - before - during
    assert during > 10 and after <= 1
    assert "wait" not in connection.connection.__dict__  # the hook is gone


def test_a_producer_error_reaches_the_consumer_at_its_item():
    done: list = []
    received = []
    with pytest.raises(ValueError, match="unit 3 is bad"):
        with AheadWhileWaiting(_counting(10, done, fail_at=3)) as items:
            for item in items:
                received.append(item)
    assert received == [0, 1, 2]


def test_leaving_early_stops_the_producer_and_restores_the_switch_interval():
    done: list = []
    closed = threading.Event()
    interval = sys.getswitchinterval()
    ahead = AheadWhileWaiting(_counting(1_000_000, done, closed), depth=2)
    with ahead as items:
        assert next(items) == 0
    assert closed.is_set() and not ahead._thread.is_alive()
    assert len(done) < 10
    assert sys.getswitchinterval() == interval
