"""The cyclic garbage collector, paused while a unit of work runs.

A request (or an import chunk) allocates tens of thousands of objects and frees nearly all of
them by reference counting when it ends. The collector, run automatically while it is under
way, walked those live objects each time: ~0.6 ms of an Order Manager page (1.4 young-generation
collections a request). Paused for the request, it has nothing to do afterwards either: CPython
counts freed objects back off the young generation's allocation count, so only cyclic garbage
the work left behind (a little, rarely) is collected, by the first allocation after it.
"""
import gc
from contextlib import contextmanager


@contextmanager
def collector_paused():
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


class CollectorPausedWSGI:
    """A WSGI application whose requests run with the collector paused (the response body is
    iterated afterwards, with it running: a long streamed export is not covered)."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        with collector_paused():
            return self.application(environ, start_response)
