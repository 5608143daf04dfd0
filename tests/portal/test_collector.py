"""Requests run with the cyclic collector paused (iris_portal.collector)."""
import gc
import weakref

from iris_portal.collector import CollectorPausedWSGI


class Node:
    def __init__(self):
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_requests_run_paused_and_their_cyclic_garbage_goes_after():
    seen, cycles = [], []

    def app(environ, start_response):
        seen.append(gc.isenabled())
        for _ in range(5_000):
            cycles.append(weakref.ref(Node()))
        seen.append(all(ref() is not None for ref in cycles))  # nothing collected so far
        start_response("200 OK", [])
        return [b"ok"]

    assert gc.isenabled()
    body = CollectorPausedWSGI(app)({}, lambda status, headers: None)
    assert body == [b"ok"] and seen == [False, True] and gc.isenabled()
    # The next allocation (here the check's own generator) runs the young-generation collection.
    assert all(ref() is None for ref in cycles)


def test_a_paused_collector_stays_paused_and_errors_resume_it():
    def failing(environ, start_response):
        raise RuntimeError("boom")

    wrapped = CollectorPausedWSGI(failing)
    try:
        wrapped({}, None)
    except RuntimeError:
        pass
    assert gc.isenabled()
    gc.disable()
    try:
        CollectorPausedWSGI(lambda environ, start_response: [b""])({}, None)
        assert not gc.isenabled()
    finally:
        gc.enable()
