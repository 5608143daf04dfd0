"""A real SMTP server (aiosmtpd) on 127.0.0.1, ephemeral port, in a background thread."""
import asyncio
import threading
from email import message_from_bytes, policy

from aiosmtpd.smtp import SMTP


class SmtpSink:
    def __init__(self):
        self.messages = []
        self.received = threading.Event()
        self.port = None
        self._loop = asyncio.new_event_loop()
        self._server = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        self.received.set()
        return "250 OK"

    def start(self):
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(
            self._loop.create_server(lambda: SMTP(self), host="127.0.0.1", port=0), self._loop)
        self._server = future.result(timeout=10)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def stop(self):
        self._server.close()
        asyncio.run_coroutine_threadsafe(self._server.wait_closed(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
