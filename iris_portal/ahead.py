"""Work ahead while the database works: a producer (reading, mapping and validating the next
chunks of an import file) runs in a background thread, but only while the consuming thread
waits: for PostgreSQL, or for the producer itself.

Why: an import thread alternates its own Python (deciding and writing a chunk) with waits for
PostgreSQL (the COPY of the chunk's rows, its COMMIT with the deferred foreign-key checks), about
half and half. During the waits one of the two cores was idle. Pure-Python work that does not
depend on the database (the next chunk's reading and canonical parsing) fits there.

How: the producer calls ``pause()`` between units of work (rows); ``pause`` returns at once while
the gate is open and blocks while it is shut. The gate is open only while the consumer waits:
in ``next()`` for the next item, and inside the psycopg connection's ``wait`` (every round trip
of a query, COPY or COMMIT goes through it; the hook is an instance attribute, removed on exit).
So the producer never competes with the consumer for the GIL while the consumer runs Python:
a producer that ran freely beside it would take the GIL for a whole switch interval each time
the consumer came back from PostgreSQL (5 ms by default, a few dozen round trips a chunk). The
switch interval is lowered while this runs, for the same reason: the consumer, back from a
wait, gets the GIL back after at most that interval plus the producer's current row.

The queue holds at most ``depth`` items: memory stays bounded whatever the input's size. An
exception in the producer is raised in the consumer at the item where it happened; leaving the
``with`` block stops the producer (at its next ``pause``) and waits for its thread."""
import queue
import sys
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Generic, TypeVar

T = TypeVar("T")

SWITCH_INTERVAL = 0.0002  # seconds; CPython's default is 0.005

_ITEM, _END, _ERROR = "item", "end", "error"


class _Stopped(Exception):
    """Raised in the producer by ``pause`` when the consumer has left."""


class AheadWhileWaiting(Generic[T]):
    """``with AheadWhileWaiting(produce, connection=connection) as items: for item in items: ...``
    where ``produce(pause)`` returns an iterable and calls ``pause()`` between units of work.
    ``connection``: a Django database connection whose waits open the gate (PostgreSQL; with
    any other backend the producer runs only while the consumer waits for its next item)."""

    def __init__(self, produce: Callable[[Callable[[], None]], Iterable[T]], *, connection=None, depth: int = 2):
        self._produce = produce
        self._connection = connection
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._gate = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="import-ahead", daemon=True)
        self._unhook: Callable[[], None] | None = None
        self._interval = sys.getswitchinterval()

    def __enter__(self) -> Iterator[T]:
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, SWITCH_INTERVAL))
        self._hook()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping = True
        self._gate.set()
        while self._thread.is_alive():  # a producer blocked on a full queue needs room to see the stop
            self._drain()
            self._thread.join(timeout=0.05)
        self._drain()
        if self._unhook is not None:
            self._unhook()
        sys.setswitchinterval(self._interval)

    def __iter__(self) -> Iterator[T]:
        return self

    def __next__(self) -> T:
        self._gate.set()
        try:
            kind, value = self._queue.get()
        finally:
            self._gate.clear()
        if kind == _END:
            self._queue.put((_END, None))  # asked again: still the end
            raise StopIteration
        if kind == _ERROR:
            raise value
        return value

    # -- producer thread ----------------------------------------------------------------------

    def _pause(self) -> None:
        if not self._gate.is_set():
            self._gate.wait()
        if self._stopping:
            raise _Stopped

    def _run(self) -> None:
        try:
            for item in self._produce(self._pause):
                self._queue.put((_ITEM, item))
                if self._stopping:
                    return
            self._queue.put((_END, None))
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._queue.put((_ERROR, exc))

    # -- helpers ------------------------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _hook(self) -> None:
        """Open the gate during each of the connection's waits (psycopg 3 ``Connection.wait``)."""
        if self._connection is None or self._connection.vendor != "postgresql":
            return
        self._connection.ensure_connection()
        raw = self._connection.connection
        original = raw.wait
        gate = self._gate

        def wait(*args, **kwargs):
            gate.set()
            try:
                return original(*args, **kwargs)
            finally:
                gate.clear()

        raw.wait = wait

        def unhook():
            raw.__dict__.pop("wait", None)

        self._unhook = unhook
