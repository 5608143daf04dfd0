"""The cyclic garbage collector, kept out of units of work.

A request (or an import chunk) allocates tens of thousands of objects and frees nearly all of
them by reference counting when it ends. The collector, run automatically while it is under
way, walked those live objects each time: ~0.6 ms of an Order Manager page (1.4 young-generation
collections a request). Re-enabled as the request returns, it still ran once per request, then
over the response and the request, which live until the server has sent the page.

Web workers therefore run requests with the collector off and do what is due between requests
(``collect_due``, before each one): by then the last request's objects are gone (CPython counts
objects freed by reference counting back off the allocation count), so there is rarely anything
due, and only the cyclic garbage a request left behind, and what survives, is ever walked.
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


def collect_due() -> int | None:
    """Run the collection CPython's own schedule would run now, if any (the oldest generation
    whose count is over its threshold); returns the generation collected."""
    counts, thresholds = gc.get_count(), gc.get_threshold()
    for generation in (2, 1, 0):
        if thresholds[generation] and counts[generation] > thresholds[generation]:
            gc.collect(generation)
            return generation
    return None


class CollectorBetweenRequestsWSGI:
    """A WSGI application whose requests run with the automatic collector off; what is due runs
    before each request (see the module's docstring). In a threaded server a collection can
    still fall inside another thread's request. The collector stays off in the process: only a
    web process should load it (gunicorn, runserver), not one with other long-running work,
    whose cyclic garbage would wait for the next request."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        gc.disable()
        collect_due()
        return self.application(environ, start_response)
