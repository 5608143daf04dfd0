"""Keep a unit of work's Python threads on one CPU.

Why: a bulk import runs two Python threads that take turns holding the GIL (the importing
thread, and the reader that works while it waits for PostgreSQL: iris_portal.ahead), and
PostgreSQL's backends beside them. Left to the scheduler, the two threads hop between the cores,
so each hand-over of the GIL wakes a thread on another core, with another cache, and PostgreSQL
is pushed around too. Python gains nothing from a second core here (one thread runs at a time),
so both threads stay on the core the importing thread is on and PostgreSQL has the other:
bench/csv_import.py, 30,000 rows alternated with the pin off, 3,888-4,098 rows/s against
3,693-3,947 (Python CPU a row 229-235 µs against 238-252), re-import 4,144-4,284 against
3,939-4,026 (docs/benchmarks.md, CSV import, session 7).

The pin is the calling thread's (Linux affinity is per thread); threads it starts inside the
block inherit it; the thread's own set is restored on leaving. Nothing is done where the
platform has no per-thread affinity, where one CPU is allowed anyway, or with
``IRIS_PIN_IMPORT_CPU = False``. The CPU kept is the one the thread is running on when the block
starts: the scheduler has just placed it there, away from the busy cores, so concurrent imports
land on different cores as they would unpinned."""
import os
from contextlib import contextmanager

from django.conf import settings


@contextmanager
def one_cpu():
    allowed = _allowed()
    current = _current_cpu() if allowed and len(allowed) > 1 and getattr(settings, "IRIS_PIN_IMPORT_CPU", True) else None
    if current is None or current not in allowed:
        yield
        return
    os.sched_setaffinity(0, {current})
    try:
        yield
    finally:
        os.sched_setaffinity(0, allowed)


def _allowed() -> set[int] | None:
    try:
        return os.sched_getaffinity(0)
    except (AttributeError, OSError):
        return None


def _current_cpu() -> int | None:
    """The CPU this thread runs on (Linux: field 39 of /proc/thread-self/stat), or None."""
    try:
        with open("/proc/thread-self/stat", "rb") as stat:
            text = stat.read()
    except OSError:
        return None
    fields = text[text.rindex(b")") + 2:].split()  # after "pid (comm) ", from the state (field 3) on
    try:
        return int(fields[39 - 3])
    except (IndexError, ValueError):
        return None
