"""Deep work runs inside one reserved frame-stack chunk (iris_portal.stack_reserve)."""
import resource
import sys

import pytest

from iris_portal.celery import app
from iris_portal import stack_reserve
from iris_portal.stack_reserve import ReservedStackWSGI, reserved_stack_call

CALLS = 1000
DEPTHS = range(0, 600, 2)


def _leaf(value):
    return value + 1


def _calls_at(depth: int) -> int:
    """CALLS calls of a tiny function, ``depth`` frames further down than the caller."""
    if depth:
        return _calls_at(depth - 1)
    total = 0
    for value in range(CALLS):
        total += _leaf(value)
    return total


def _minor_faults(run) -> int:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    run()
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _in_reserve() -> bool:
    """Whether the caller runs below the reserving frame."""
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is stack_reserve._call.__code__:
            return True
        frame = frame.f_back
    return False


def _sweep():
    for depth in DEPTHS:
        _calls_at(depth)


def test_calls_at_any_depth_stay_in_the_reserved_chunk():
    """Some depth in the sweep puts the loop's calls across a chunk boundary: on CPython < 3.13
    each of those calls maps a fresh chunk (a page fault each). Inside the reserve, none does."""
    reserved = _minor_faults(lambda: reserved_stack_call(_sweep))
    assert reserved < CALLS // 2, reserved
    if sys.version_info < (3, 13):  # the problem the reserve is for, shown on the same sweep
        assert _minor_faults(_sweep) >= CALLS


def test_reserved_call_passes_arguments_results_and_errors():
    assert reserved_stack_call(dict, (("a", 1),), b=2) == {"a": 1, "b": 2}
    with pytest.raises(ZeroDivisionError):
        reserved_stack_call(lambda: 1 / 0)


def test_wsgi_wrapper_returns_the_application_response():
    seen = []

    def application(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode(), _in_reserve()]

    body = ReservedStackWSGI(application)({"PATH_INFO": "/orders/"}, lambda status, headers: seen.append(status))
    assert (seen, body) == (["200 OK"], [b"/orders/", True])
    assert not _in_reserve()


def test_the_deployed_wsgi_application_is_wrapped():
    import gc

    from iris_portal.wsgi import application

    gc.unfreeze()  # the module freezes what is alive, for a server process's lifetime
    assert isinstance(application, ReservedStackWSGI)


def test_celery_tasks_run_through_the_reserve():
    @app.task(name="tests.stack_reserve_add")
    def add(a, b):
        return a + b, _in_reserve()

    assert add.apply(args=(2, 3)).get() == (5, True)
    assert add(4, 5) == (9, True)
