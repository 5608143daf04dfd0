"""Work ahead while the database works: a producer (reading, mapping and validating the next
chunks of an import file) runs in a background thread, but only while the consuming thread
waits: for PostgreSQL, or for the producer itself.

Why: an import thread alternates its own Python (deciding and writing a chunk) with waits for
PostgreSQL (the chunk's lookups, the COPY of its rows, its COMMIT with the deferred foreign-key
checks unless iris_portal.commit_behind runs that beside), about half and half. During the waits one of the two cores was idle. Pure-Python work that does not
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

``discard(objects)`` hands over objects the consumer is done with (an imported chunk's rows and
parsed requests): the producer drops them one at a time while the gate is open, so freeing them
(~10 us a row for an import) also happens while the consumer waits.

At most ``depth`` items are ahead of the consumer, built or being built: the producer starts the
next one only when the consumer has taken one (memory stays bounded whatever the input's size:
for an import, the chunk being written, the next one, and the last one's leftovers). An
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
    """``with AheadWhileWaiting(produce, connections=[connection]) as items: for item in items: ...``
    where ``produce(pause)`` returns an iterable and calls ``pause()`` between units of work.
    ``connections``: the Django database connections whose waits open the gate (CommitBehind's
    two take turns; PostgreSQL only: with any other backend the producer runs only while the
    consumer waits for its next item)."""

    def __init__(self, produce: Callable[[Callable[[], None]], Iterable[T]], *, connections: Iterable = (),
                 depth: int = 1):
        self._produce = produce
        self._connections = list(connections)
        self._queue: queue.Queue = queue.Queue()
        self._room = threading.Semaphore(depth)  # items the producer may build before one is taken
        self._gate = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="import-ahead", daemon=True)
        self._unhooks: list[Callable[[], None]] = []
        self._discarded: list = []
        self._interval = 0.0  # the switch interval to restore, read on entry

    def __enter__(self) -> Iterator[T]:
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(min(self._interval, SWITCH_INTERVAL))
        self._hook()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stopping = True
        self._gate.set()
        self._room.release()  # a producer waiting for room wakes up and sees the stop
        self._thread.join()
        self._drain()
        self._discarded.clear()
        for unhook in self._unhooks:
            unhook()
        sys.setswitchinterval(self._interval)

    def discard(self, objects: Iterable) -> None:
        """Give the producer these objects to drop (hold no other reference to them). What the
        producer has not dropped yet of the previous call's objects is dropped here: at most
        one call's worth waits, so memory stays bounded when the producer is short of time."""
        self._discarded.clear()
        self._discarded.extend(objects)

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
        self._room.release()
        return value

    # -- producer thread ----------------------------------------------------------------------

    def _pause(self) -> None:
        gate, discarded = self._gate, self._discarded
        if not gate.is_set():
            gate.wait()
        while discarded and gate.is_set():
            try:
                discarded.pop()  # one object freed at a time: the consumer may want the GIL back
            except IndexError:  # emptied by discard() since the check
                break
        if self._stopping:
            raise _Stopped

    def _run(self) -> None:
        items = iter(self._produce(self._pause))
        try:
            while True:
                self._room.acquire()
                if self._stopping:
                    return
                try:
                    item = next(items)
                except StopIteration:
                    self._queue.put((_END, None))
                    return
                self._queue.put((_ITEM, item))
        except _Stopped:
            return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, which raises it
            self._queue.put((_ERROR, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # a generator's own clean-up (closing the file) runs here, in this thread

    # -- helpers ------------------------------------------------------------------------------

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return

    def _hook(self) -> None:
        """Open the gate during each of the connections' waits (psycopg 3 ``Connection.wait``)
        in the consuming thread (not a COMMIT another thread runs on one of them)."""
        consumer = threading.get_ident()
        for connection in self._connections:
            if connection.vendor != "postgresql":
                continue
            connection.ensure_connection()
            raw = connection.connection
            original = raw.wait
            gate = self._gate

            def wait(*args, _original=original, **kwargs):
                if threading.get_ident() != consumer:
                    return _original(*args, **kwargs)
                gate.set()
                try:
                    return _original(*args, **kwargs)
                finally:
                    gate.clear()

            raw.wait = wait
            self._unhooks.append(lambda raw=raw: raw.__dict__.pop("wait", None))
