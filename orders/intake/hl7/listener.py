"""The asyncio MLLP listener: many connections, each answered in order, the database work in a
thread pool so that one slow client or message never holds up the others.

Frames are processed in batches: whatever the connections sent while a batch was being
processed forms the next one (``hl7_frames_receive``: one transaction and a few statements for
many ORMs). At low load a batch is one frame, so nobody waits for a batch to fill; under load
batches grow and the cost per message falls. One batch runs at a time (that is what lets the
next one fill up); another starts beside it only when the running one has taken longer than
``batch_slow_ms`` (a message waiting for a lock), up to ``batch_slots`` at once, so one slow
message never stalls the rest.

Built on python-hl7's ``hl7.mllp.start_hl7_server`` (its stream reader/writer); frames are cut
by ``MLLPDecoder`` rather than ``readblock`` so that nothing read is ever dropped (R11) and an
oversize frame is discarded while it streams instead of filling memory.
"""
from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.db import close_old_connections, connections
from hl7.mllp import start_hl7_server

from iris_portal.hl7_mllp_client import DEFAULT_MAX_MESSAGE_BYTES, Frame, MLLPDecoder, mllp_wrap
from iris_portal.stack_reserve import reserved_stack_call

from .intake import Receipt, hl7_frames_receive
from .senders import DEFAULT_MAX_AGE, SenderDirectory

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024


def _setting(name: str, default):
    return getattr(settings, name, default)


class HL7Listener:
    """``await start()``, then ``await stop()`` (or ``serve_forever(stop_event)``)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None,
                 handler: Callable[..., Receipt] | None = None, workers: int | None = None,
                 max_message_bytes: int | None = None, idle_timeout: float | None = None,
                 config_max_age: float | None = None, batch_slots: int | None = None, batch_max: int | None = None,
                 batch_slow_ms: float | None = None, sock=None):
        self.host = host
        self.port = _setting("IRIS_HL7_PORT", 2575) if port is None else port
        self.sock = sock  # a listening socket shared by several listener processes (--processes)
        # ``handler``: one frame -> Receipt (tests); by default frames go in batches to hl7_frames_receive.
        self.batch_handler = hl7_frames_receive if handler is None else _one_by_one(handler)
        self.workers = workers or _setting("IRIS_HL7_WORKERS", 8)
        self.batch_slots = max(2, min(self.workers, batch_slots or _setting("IRIS_HL7_BATCH_SLOTS", 4)))
        self.batch_max = batch_max or _setting("IRIS_HL7_BATCH_MAX", 200)
        self.batch_slow = (batch_slow_ms if batch_slow_ms is not None else _setting("IRIS_HL7_BATCH_SLOW_MS", 50)) / 1000
        self.max_message_bytes = max_message_bytes or _setting("IRIS_HL7_MAX_MESSAGE_BYTES", DEFAULT_MAX_MESSAGE_BYTES)
        self.idle_timeout = idle_timeout or _setting("IRIS_HL7_IDLE_TIMEOUT", 600.0)
        self.senders = SenderDirectory(
            _setting("IRIS_HL7_CONFIG_MAX_AGE", DEFAULT_MAX_AGE) if config_max_age is None else config_max_age)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="hl7-intake")
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.Task, bool] = {}  # task -> busy with a message
        self._stopping = False
        self._queue: list[tuple[Frame, asyncio.Future]] = []  # frames waiting for a batch slot
        self._wake: asyncio.Event | None = None
        self._finished: asyncio.Event | None = None  # set whenever a batch ends
        self._dispatcher: asyncio.Task | None = None
        self._running: dict[asyncio.Task, float] = {}  # batch -> loop time it started

    @property
    def address(self) -> tuple[str, int]:
        return self._server.sockets[0].getsockname()[:2]

    async def start(self) -> tuple[str, int]:
        self._wake, self._finished = asyncio.Event(), asyncio.Event()
        self._dispatcher = asyncio.create_task(self._dispatch())
        where = {"sock": self.sock} if self.sock is not None else {"host": self.host, "port": self.port}
        self._server = await start_hl7_server(self._serve, limit=self.max_message_bytes + READ_CHUNK, **where)
        logger.info("HL7 listener on %s:%s", *self.address)
        return self.address

    async def serve_forever(self, stop: asyncio.Event) -> None:
        await stop.wait()
        await self.stop()

    async def stop(self, grace: float = 30.0) -> None:
        """Stop accepting, let messages being processed finish and be acknowledged, close the
        idle connections, then release the worker threads and their database connections."""
        self._stopping = True
        if self._server is not None:
            self._server.close()
        for task, busy in list(self._connections.items()):
            if not busy:
                task.cancel()
        if self._connections:
            _, pending = await asyncio.wait(list(self._connections), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=5)
        if self._dispatcher is not None:
            self._dispatcher.cancel()
        await asyncio.get_running_loop().run_in_executor(None, self._close_workers)

    def _close_workers(self) -> None:
        barrier = threading.Barrier(self.workers)

        def close_connections():
            connections.close_all()
            try:
                barrier.wait(timeout=10)  # one call per worker thread
            except threading.BrokenBarrierError:
                pass

        for future in [self._executor.submit(close_connections) for _ in range(self.workers)]:
            future.result()
        self._executor.shutdown(wait=True)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._connections[task] = False
        peer = writer.get_extra_info("peername")
        decoder = MLLPDecoder(self.max_message_bytes)
        try:
            while not self._stopping:
                try:
                    chunk = await asyncio.wait_for(reader.read(READ_CHUNK), self.idle_timeout)
                except TimeoutError:
                    leftover = decoder.close()
                    if leftover is not None:
                        logger.info("HL7 %s: idle for %ss inside a frame; closing", peer, self.idle_timeout)
                        await self._answer(task, writer, leftover)
                    break
                if not chunk:
                    leftover = decoder.close()
                    if leftover is not None:
                        await self._answer(task, writer, leftover)
                    break
                for frame in decoder.feed(chunk):
                    await self._answer(task, writer, frame)
        except (ConnectionError, asyncio.IncompleteReadError) as exc:
            logger.info("HL7 %s: connection lost (%s)", peer, type(exc).__name__)
        except asyncio.CancelledError:
            pass
        except Exception:  # noqa: BLE001 - one connection's failure must not reach the others
            logger.exception("HL7 %s: connection handler failed", peer)
        finally:
            self._connections.pop(task, None)
            writer.close()

    async def _answer(self, task: asyncio.Task, writer: asyncio.StreamWriter, frame: Frame) -> None:
        self._connections[task] = True
        try:
            answered = asyncio.get_running_loop().create_future()
            self._queue.append((frame, answered))
            self._wake.set()
            receipt = await asyncio.shield(answered)
            if writer.is_closing():
                return
            writer.write(mllp_wrap(receipt.ack))
            try:
                await writer.drain()
            except ConnectionError:
                logger.info("HL7: peer gone before its ACK (inbound %s)", receipt.inbound_id)
        finally:
            self._connections[task] = False

    async def _dispatch(self) -> None:
        """Whenever a batch may start, everything queued so far (up to batch_max) is the next one."""
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                wait = self._wait_before_next(loop.time())
                if wait is not None:
                    self._finished.clear()
                    try:
                        await asyncio.wait_for(self._finished.wait(), timeout=wait or None)
                    except TimeoutError:
                        pass
                    continue
                batch, self._queue = self._queue[:self.batch_max], self._queue[self.batch_max:]
                task = asyncio.create_task(self._run_batch(batch))
                self._running[task] = loop.time()

    def _wait_before_next(self, now: float) -> float | None:
        """None: start the next batch now; 0: wait for a running batch to end; else seconds to
        wait at most (until the youngest running batch counts as slow)."""
        if not self._running:
            return None
        if len(self._running) >= self.batch_slots:
            return 0
        slow_at = max(self._running.values()) + self.batch_slow
        return None if now >= slow_at else slow_at - now

    async def _run_batch(self, batch: list[tuple[Frame, asyncio.Future]]) -> None:
        try:
            loop = asyncio.get_running_loop()
            receipts = await loop.run_in_executor(self._executor, reserved_stack_call, self._handle,
                                                  [frame for frame, _ in batch])
            for (_, answered), receipt in zip(batch, receipts, strict=True):
                if not answered.done():
                    answered.set_result(receipt)
        except Exception as exc:  # noqa: BLE001 - the connections log it and close
            for _, answered in batch:
                if not answered.done():
                    answered.set_exception(exc)
        finally:
            self._running.pop(asyncio.current_task(), None)
            self._finished.set()

    def _handle(self, frames: list[Frame]) -> list[Receipt]:
        close_old_connections()
        try:
            return self.batch_handler(frames=frames, senders=self.senders)
        finally:
            close_old_connections()


def _one_by_one(handler: Callable[..., Receipt]) -> Callable[..., list[Receipt]]:
    def handle(*, frames: list[Frame], senders) -> list[Receipt]:
        return [handler(frame=frame, senders=senders) for frame in frames]
    return handle


async def listener_run(*, host: str, port: int, stop: asyncio.Event,
                       ready: Callable[[tuple[str, int]], None] | None = None, **options) -> None:
    """Run a listener until ``stop`` is set (used by the management command)."""
    listener = HL7Listener(host=host, port=port, **options)
    address = await listener.start()
    if ready is not None:
        ready(address)
    await listener.serve_forever(stop)


__all__ = ["HL7Listener", "listener_run"]
