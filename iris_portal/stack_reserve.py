"""Run deep Python work inside one big frame-stack chunk (a workaround for CPython 3.11/3.12).

CPython keeps frames in 16 KiB chunks and, up to 3.13, frees a chunk as soon as the stack
pops back out of it (cpython gh-142183, fixed in 3.13.x/3.14 by caching one chunk). A hot
loop whose calls cross a chunk boundary then pays an mmap and a munmap per call: measured in a
gunicorn worker, the Order Manager page made ~860 such pairs per request, ~20 % of its CPU in
system time, and where the boundary falls depends only on how deep the server's own frames are.

``reserved_stack_call`` calls a function from a frame whose code declares ~512 KiB of unused
evaluation-stack slots. CPython sizes a new chunk to fit that frame (1 MiB, mapped lazily:
untouched pages cost nothing) and pushes the frames the call makes into the rest of it, so
ordinary request or task work never reaches a chunk boundary. The slots are never written.
"""
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

# Evaluation-stack slots (8 bytes each) the reserving frame declares: 512 KiB. The chunk that
# holds it is rounded up to 1 MiB, leaving ~512 KiB (thousands of frames) for the work.
RESERVED_SLOTS = 64 * 1024


def _call(function, args, kwargs):
    return function(*args, **kwargs)


_call.__code__ = _call.__code__.replace(co_stacksize=_call.__code__.co_stacksize + RESERVED_SLOTS)


def reserved_stack_call(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``function(*args, **kwargs)``, its frames in a chunk of their own (see the module)."""
    return _call(function, args, kwargs)


class ReservedStackWSGI:
    """A WSGI application whose requests run through ``reserved_stack_call``."""

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        return _call(self.application, (environ, start_response), {})
