"""Real peers for the transport tests, each on 127.0.0.1 with an ephemeral port:

- ``SftpServer``: asyncssh with an SFTP subsystem chrooted to a folder, password and key login,
  optional read-only directories (the server refuses writes there, as a chmod would for a
  non-root account);
- ``SmtpServer``: aiosmtpd with optional STARTTLS, AUTH and scripted replies;
- ``MllpPeer``: an HL7 receiver answering with scripted ACK codes;
- ``FaxVendor``: the one fake, an HTTP fax service (http.server) with scripted answers.

Each has ``start()`` and ``shutdown()``. Waiting is on events/conditions with timeouts, never on
sleeps.
"""
from __future__ import annotations

import asyncio
import json
import socket
import socketserver
import ssl
import threading
from collections import deque
from dataclasses import dataclass
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import asyncssh
from aiosmtpd.smtp import SMTP, AuthResult

from iris_portal.hl7_mllp_client import MLLPDecoder, message_control_id, mllp_wrap

TIMEOUT = 10


class LoopThread:
    """An asyncio event loop in a daemon thread."""

    def __init__(self):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, awaitable):
        async def wait():
            return await awaitable
        return asyncio.run_coroutine_threadsafe(wait(), self.loop).result(timeout=TIMEOUT)

    def stop(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=TIMEOUT)


async def _closed(server) -> None:
    server.close()
    await server.wait_closed()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------------------------------------
# SFTP


class SftpServer:
    def __init__(self, root: Path, *, username: str = "iris", password: str = "s3cret",
                 client_public_keys: tuple[str, ...] = (), read_only: tuple[str, ...] = ()):
        self.root = root
        self.username, self.password = username, password
        self.client_public_keys = client_public_keys
        self.read_only = tuple(str(root / name) for name in read_only)
        self.host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.logins = 0  # authenticated connections, i.e. sessions opened by clients
        self.port: int | None = None
        self._connections: set = set()
        self._acceptor = None
        self._loop = LoopThread()

    @property
    def host_key_line(self) -> str:
        return " ".join(self.host_key.export_public_key().decode().split()[:2])

    def start(self, port: int = 0) -> SftpServer:
        owner = self

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn):
                self.conn = conn
                owner._connections.add(conn)

            def connection_lost(self, exc):
                owner._connections.discard(self.conn)

            def begin_auth(self, username):
                if owner.client_public_keys and username == owner.username:
                    keys = asyncssh.import_authorized_keys("\n".join(owner.client_public_keys))
                    self.conn.set_authorized_keys(keys)
                return True

            def password_auth_supported(self):
                return bool(owner.password)

            def validate_password(self, username, password):
                return username == owner.username and password == owner.password

            def public_key_auth_supported(self):
                return bool(owner.client_public_keys)

            def auth_completed(self):
                owner.logins += 1

        class Sftp(asyncssh.SFTPServer):
            def __init__(self, chan):
                super().__init__(chan, chroot=str(owner.root).encode())

            def _refuse_in_read_only(self, path: bytes):
                local = self.map_path(path).decode()
                if any(local == folder or local.startswith(folder + "/") for folder in owner.read_only):
                    raise asyncssh.SFTPPermissionDenied("read-only directory")

            def open(self, path, pflags, attrs):
                if pflags & (asyncssh.FXF_WRITE | asyncssh.FXF_CREAT):
                    self._refuse_in_read_only(path)
                return super().open(path, pflags, attrs)

        self._acceptor = self._loop.run(asyncssh.listen(
            "127.0.0.1", port, server_factory=Server, server_host_keys=[self.host_key], sftp_factory=Sftp,
            allow_scp=False))
        self.port = self._acceptor.sockets[0].getsockname()[1]
        return self

    def drop_connections(self) -> None:
        """Close every client connection (as an idle timeout would), keep listening."""
        async def drop():
            for connection in list(self._connections):
                connection.close()
                await connection.wait_closed()
        self._loop.run(drop())

    def stop(self) -> None:
        """Stop listening and close connections; ``start(port)`` brings it back on the same port."""
        if self._acceptor is not None:
            self.drop_connections()
            self._loop.run(_closed(self._acceptor))  # asyncio objects are closed on their own loop
            self._acceptor = None

    def shutdown(self) -> None:
        self.stop()
        self._loop.stop()


# ---------------------------------------------------------------------------------------------
# SMTP


@dataclass
class Received:
    sender: str
    recipients: list[str]
    content: bytes

    @property
    def message(self):
        return message_from_bytes(self.content, policy=policy.default)


class SmtpServer:
    def __init__(self, *, tls_context: ssl.SSLContext | None = None, require_starttls: bool = False,
                 implicit_tls: bool = False, login: tuple[str, str] | None = None,
                 data_replies: tuple[str, ...] = (), refuse_recipients: dict[str, str] | None = None):
        self.tls_context = tls_context
        self.require_starttls = require_starttls
        self.implicit_tls = implicit_tls  # TLS from the first byte (port 465 style) instead of STARTTLS
        self.login = login
        self.data_replies = deque(data_replies)  # answers to DATA, one per message, then 250
        self.refuse_recipients = refuse_recipients or {}
        self.messages: list[Received] = []
        self.tls_sessions = 0
        self._condition = threading.Condition()
        self._loop = LoopThread()
        self._server = None
        self.port: int | None = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 - aiosmtpd hook
        if address in self.refuse_recipients:
            return self.refuse_recipients[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook
        if self.data_replies:
            reply = self.data_replies.popleft()
            if not reply.startswith("250"):
                return reply
        with self._condition:
            self.messages.append(Received(envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
            if session.ssl is not None or self.implicit_tls:
                self.tls_sessions += 1
            self._condition.notify_all()
        return "250 2.0.0 queued as TEST"

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = self.login is not None and (auth_data.login.decode(), auth_data.password.decode()) == self.login
        return AuthResult(success=ok, handled=False)

    def start(self, port: int = 0) -> SmtpServer:
        options = {"require_starttls": self.require_starttls}
        if not self.implicit_tls:
            options["tls_context"] = self.tls_context
        if self.login:
            options.update(authenticator=self._authenticate, auth_required=True,
                           auth_require_tls=not self.implicit_tls)
        self._server = self._loop.run(self._loop.loop.create_server(
            lambda: SMTP(self, hostname="smtp.test", **options), host="127.0.0.1", port=port,
            ssl=self.tls_context if self.implicit_tls else None))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def wait_for(self, count: int) -> list[Received]:
        with self._condition:
            assert self._condition.wait_for(lambda: len(self.messages) >= count, timeout=TIMEOUT), \
                f"expected {count} messages, got {len(self.messages)}"
            return list(self.messages)

    def stop(self) -> None:
        if self._server is not None:
            self._loop.run(_closed(self._server))
            self._server = None

    def shutdown(self) -> None:
        self.stop()
        self._loop.stop()


# ---------------------------------------------------------------------------------------------
# MLLP


class MllpPeer:
    """Answers each message with the next scripted code ("AA", "AE", "AR"...) or, for "close",
    closes the connection without an ACK. After the script: "AA"."""

    def __init__(self, script: tuple[str, ...] = ()):
        self.script = deque(script)
        self.messages: list[bytes] = []
        self.connections = 0
        self._lock = threading.Lock()
        peer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                with peer._lock:
                    peer.connections += 1
                decoder = MLLPDecoder()
                while True:
                    chunk = self.request.recv(65536)
                    if not chunk:
                        return
                    for frame in decoder.feed(chunk):
                        with peer._lock:
                            peer.messages.append(frame.payload)
                            code = peer.script.popleft() if peer.script else "AA"
                        if code == "close":
                            return
                        control_id = message_control_id(frame.payload)
                        ack = f"MSH|^~\\&|PEER|PEER|IRIS|IRIS|20260101000000||ACK|A{control_id}|P|2.5.1\r" \
                              f"MSA|{code}|{control_id}|scripted {code}\r"
                        self.request.sendall(mllp_wrap(ack.encode()))

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self) -> MllpPeer:
        self._thread.start()
        return self

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()


# ---------------------------------------------------------------------------------------------
# The fax vendor (the one fake: a third party's HTTP API)


class FaxVendor:
    """Answers POSTs with scripted (status, json) pairs, then (200, {"id": "fax-N", "status": "queued"})."""

    def __init__(self, script: tuple[tuple[int, dict], ...] = (), token: str = "vendor-token"):
        self.script = deque(script)
        self.token = token
        self.requests: list[dict] = []
        vendor = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server hook
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                vendor.requests.append({"headers": dict(self.headers), "json": json.loads(body)})
                if self.headers.get("Authorization") != f"Bearer {vendor.token}":
                    status, answer = 401, {"error": "invalid token"}
                elif vendor.script:
                    status, answer = vendor.script.popleft()
                else:
                    status, answer = 200, {"id": f"fax-{len(vendor.requests)}", "status": "queued"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/v1/faxes"
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05},
                                        daemon=True)

    def start(self) -> FaxVendor:
        self._thread.start()
        return self

    def shutdown(self) -> None:
        self._server.shutdown()
        self._server.server_close()
