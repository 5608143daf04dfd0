"""The asyncio MLLP listener: many connections, each answered in order, the database work in a
thread pool so that one slow client or message never holds up the others.

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

from .intake import Receipt, hl7_frame_receive
from .senders import DEFAULT_MAX_AGE, SenderDirectory

logger = logging.getLogger(__name__)

READ_CHUNK = 64 * 1024


def _setting(name: str, default):
    return getattr(settings, name, default)


class HL7Listener:
    """``await start()``, then ``await stop()`` (or ``serve_forever(stop_event)``)."""

    def __init__(self, *, host: str = "127.0.0.1", port: int | None = None,
                 handler: Callable[..., Receipt] = hl7_frame_receive, workers: int | None = None,
                 max_message_bytes: int | None = None, idle_timeout: float | None = None,
                 config_max_age: float | None = None):
        self.host = host
        self.port = _setting("IRIS_HL7_PORT", 2575) if port is None else port
        self.handler = handler
        self.workers = workers or _setting("IRIS_HL7_WORKERS", 8)
        self.max_message_bytes = max_message_bytes or _setting("IRIS_HL7_MAX_MESSAGE_BYTES", DEFAULT_MAX_MESSAGE_BYTES)
        self.idle_timeout = idle_timeout or _setting("IRIS_HL7_IDLE_TIMEOUT", 600.0)
        self.senders = SenderDirectory(
            _setting("IRIS_HL7_CONFIG_MAX_AGE", DEFAULT_MAX_AGE) if config_max_age is None else config_max_age)
        self._executor = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="hl7-intake")
        self._server: asyncio.AbstractServer | None = None
        self._connections: dict[asyncio.Task, bool] = {}  # task -> busy with a message
        self._stopping = False

    @property
    def address(self) -> tuple[str, int]:
        return self._server.sockets[0].getsockname()[:2]

    async def start(self) -> tuple[str, int]:
        self._server = await start_hl7_server(self._serve, self.host, self.port,
                                              limit=self.max_message_bytes + READ_CHUNK)
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
            loop = asyncio.get_running_loop()
            receipt = await asyncio.shield(loop.run_in_executor(self._executor, self._handle, frame))
            if writer.is_closing():
                return
            writer.write(mllp_wrap(receipt.ack))
            try:
                await writer.drain()
            except ConnectionError:
                logger.info("HL7: peer gone before its ACK (inbound %s)", receipt.inbound_id)
        finally:
            self._connections[task] = False

    def _handle(self, frame: Frame) -> Receipt:
        close_old_connections()
        try:
            return self.handler(frame=frame, senders=self.senders)
        finally:
            close_old_connections()


async def listener_run(*, host: str, port: int, stop: asyncio.Event,
                       ready: Callable[[tuple[str, int]], None] | None = None, **options) -> None:
    """Run a listener until ``stop`` is set (used by the management command)."""
    listener = HL7Listener(host=host, port=port, **options)
    address = await listener.start()
    if ready is not None:
        ready(address)
    await listener.serve_forever(stop)


__all__ = ["HL7Listener", "listener_run"]
