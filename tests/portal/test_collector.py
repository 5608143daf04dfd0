"""Web requests run with the cyclic collector off; what is due runs between them
(iris_portal.collector)."""
import gc
import weakref

import pytest

from iris_portal.collector import CollectorBetweenRequestsWSGI, collect_due


class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it


@pytest.fixture
def collector_restored():
    thresholds = gc.get_threshold()
    yield
    gc.set_threshold(*thresholds)
    gc.enable()


def test_requests_run_without_the_collector_and_their_garbage_goes_before_the_next(collector_restored):
    seen, cycles = [], []

    def app(environ, start_response):
        seen.append(gc.isenabled())
        for _ in range(5_000):
            cycles.append(weakref.ref(Node()))
        seen.append(all(ref() is not None for ref in cycles))  # nothing collected during the request
        start_response("200 OK", [])
        return [b"ok"]

    wrapped = CollectorBetweenRequestsWSGI(app)
    assert wrapped({}, lambda status, headers: None) == [b"ok"] and seen == [False, True]
    assert not gc.isenabled()
    [[] for _ in range(2_000)]  # allocations between requests: still nothing collected
    assert all(ref() is not None for ref in cycles)
    first = cycles[:]
    cycles.clear()
    wrapped({}, lambda status, headers: None)  # the next request starts with the due collection
    assert all(ref() is None for ref in first)


def test_collect_due_follows_cpythons_schedule(collector_restored):
    gc.disable()
    gc.collect()
    gc.set_threshold(100, 2, 2)
    assert collect_due() is None  # nothing allocated yet
    [Node() for _ in range(150)]
    assert collect_due() == 0
    for _ in range(2):
        [Node() for _ in range(150)]
        collect_due()
    [Node() for _ in range(150)]
    assert collect_due() == 1  # the young generation has been collected more than twice since
