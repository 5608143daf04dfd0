"""MLLP, the framing HL7 v2 travels in over TCP, and a client that sends one message and checks
its ACK.

Framing: ``<VT> message <FS><CR>``. ``MLLPDecoder`` is sans-I/O (feed bytes, get frames), so the
asyncio listener (orders/intake/hl7/listener.py) and this blocking client share it. Unlike
python-hl7's ``readblock`` it never drops what it read: bytes before a start block, an
unterminated frame at end of stream and the start of an oversize frame all come out as frames
the caller can store (R11), and an oversize frame is discarded as it streams, so memory stays
bounded.

``MLLPClient`` is the delivery transport's wire: one connection per client, reused between
messages; a response timeout; the ACK must echo the message's MSH-10 in MSA-2 and say AA/CA.
``send(resend=False)`` is for DFT charges (at most once, IRIS hl7messages.md): a failure after
the bytes may have reached the peer is never retried and says so.
"""
from __future__ import annotations

import dataclasses
import logging
import re
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import hl7

logger = logging.getLogger(__name__)

VT, FS, CR = b"\x0b", b"\x1c", b"\x0d"
END_BLOCK = FS + CR
DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
OVERSIZE_KEEP_BYTES = 64 * 1024  # what is kept (and stored) of a frame over the limit
ACCEPT_CODES = {"AA", "CA"}
ERROR_CODES = {"AE", "CE"}  # the content was refused: resending it as is will not help
REJECT_CODES = {"AR", "CR"}  # not taken now (busy, down, not set up): may succeed later


def mllp_wrap(message: bytes) -> bytes:
    return VT + message + END_BLOCK


def text_decode(data: bytes) -> str:
    """HL7 v2 bytes as text: UTF-8 when valid, else Latin-1 (the usual legacy charset; it maps
    every byte, so nothing is lost)."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


@dataclass(frozen=True)
class Frame:
    """One block read from the stream.

    ``payload`` is the message without framing (for an oversize frame, its first bytes only);
    ``size`` the number of message bytes received; ``junk`` non-blank bytes that came before the
    start block; ``framed`` False when no start block was seen (accepted, leniently)."""

    payload: bytes
    size: int
    complete: bool = True
    oversize: bool = False
    framed: bool = True
    junk: bytes = b""
    limit: int = 0

    @property
    def problem(self) -> str:
        """Why the frame cannot be a message as received ('' when it can)."""
        if self.oversize:
            return (f"message too large: {self.size} bytes received, the limit is {self.limit}; "
                    f"only the first {len(self.payload)} bytes are kept")
        if not self.complete:
            return "incomplete frame: the connection closed before the end block <FS><CR>"
        if not self.payload.strip():
            return "empty frame"
        return ""


@dataclass
class _Overflow:
    junk: bytes
    kept: bytes
    size: int
    framed: bool


class MLLPDecoder:
    """Feed stream bytes, get complete frames. Holds at most ``max_bytes`` (plus one read)."""

    def __init__(self, max_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, keep_bytes: int = OVERSIZE_KEEP_BYTES):
        self.max_bytes = max_bytes
        self.keep_bytes = min(keep_bytes, max_bytes)
        self._buffer = bytearray()
        self._scan_from = 0
        self._overflow: _Overflow | None = None

    def feed(self, data: bytes) -> list[Frame]:
        self._buffer += data
        frames = []
        while True:
            if self._overflow is not None:
                frame = self._discard_overflow()
                if frame is None:
                    return frames
                frames.append(frame)
                continue
            end = self._buffer.find(END_BLOCK, self._scan_from)
            if end < 0:
                if len(self._buffer) > self.max_bytes + 1:  # + the start block
                    self._overflow = self._overflow_start(bytes(self._buffer))
                    self._buffer.clear()
                    self._scan_from = 0
                    continue
                self._scan_from = max(0, len(self._buffer) - 1)
                return frames
            block = bytes(self._buffer[:end])
            del self._buffer[:end + 2]
            self._scan_from = 0
            frames.append(self._frame(block))

    def close(self) -> Frame | None:
        """End of stream: what was received of an unfinished frame, if anything."""
        if self._overflow is not None:
            over, self._overflow = self._overflow, None
            return Frame(over.kept, over.size, complete=False, oversize=True, framed=over.framed, junk=over.junk,
                         limit=self.max_bytes)
        block = bytes(self._buffer)
        self._buffer.clear()
        if not block.strip():
            return None
        frame = self._frame(block)
        return dataclasses.replace(frame, complete=False)

    def _frame(self, block: bytes) -> Frame:
        junk, payload, framed = _split_start(block)
        if len(payload) > self.max_bytes:
            return Frame(payload[:self.keep_bytes], len(payload), oversize=True, framed=framed, junk=junk,
                         limit=self.max_bytes)
        return Frame(payload, len(payload), framed=framed, junk=junk)

    def _overflow_start(self, block: bytes) -> _Overflow:
        junk, payload, framed = _split_start(block)
        return _Overflow(junk, payload[:self.keep_bytes], len(payload), framed)

    def _discard_overflow(self) -> Frame | None:
        over = self._overflow
        end = self._buffer.find(END_BLOCK)
        if end < 0:
            keep = 1 if self._buffer.endswith(FS) else 0  # the end block may be split across reads
            over.size += len(self._buffer) - keep
            del self._buffer[:len(self._buffer) - keep]
            return None
        over.size += end
        del self._buffer[:end + 2]
        self._overflow = None
        return Frame(over.kept, over.size, oversize=True, framed=over.framed, junk=over.junk, limit=self.max_bytes)


def _split_start(block: bytes) -> tuple[bytes, bytes, bool]:
    """(junk before the start block, the message, whether a start block was seen). The last
    <VT> wins: it cannot occur inside HL7 text, so anything before it is an abandoned attempt."""
    start = block.rfind(VT)
    if start < 0:
        return b"", block, False
    return block[:start].strip(), block[start + 1:], True


# ---------------------------------------------------------------------------------------------
# ACKs


@dataclass(frozen=True)
class Ack:
    code: str
    control_id: str
    text: str = ""
    errors: list[str] = field(default_factory=list)
    raw: str = ""

    @property
    def accepted(self) -> bool:
        return self.code in ACCEPT_CODES


def ack_parse(payload: bytes) -> Ack:
    """MSA-1, MSA-2, MSA-3 and the ERR segments of an ACK; MLLPTransientError when it is not one."""
    raw = text_decode(payload)
    try:
        message = hl7.parse(raw.replace("\r\n", "\r").replace("\n", "\r"))
        code = str(message["MSA.F1"]).strip().upper()
        control_id = str(message["MSA.F2"]).strip()
        text = str(message["MSA.F3"]).strip()
        errors = [str(segment) for segment in message if str(segment(0)) == "ERR"]
    except Exception as exc:  # noqa: BLE001 - python-hl7 raises assorted errors on bad input
        raise MLLPTransientError(f"unreadable ACK ({type(exc).__name__}): {raw[:200]!r}", sent=True) from None
    return Ack(code=code, control_id=control_id, text=text, errors=errors, raw=raw)


def message_control_id(message: bytes) -> str:
    """MSH-10 of an outgoing message (ValueError when it has none: the caller built it wrong).
    Read by splitting the first segment, so unusual encoding characters do not matter."""
    first = re.split(r"[\r\n]", text_decode(message).lstrip("\ufeff \t\r\n"), maxsplit=1)[0]
    if not first.startswith("MSH") or len(first) < 4:
        raise ValueError("not an HL7 message: it does not start with an MSH segment")
    fields = first.split(first[3])
    control_id = fields[9].strip() if len(fields) > 9 else ""
    if not control_id:
        raise ValueError("the message has no MSH-10 (message control id)")
    return control_id


# ---------------------------------------------------------------------------------------------
# Client


class MLLPError(Exception):
    """Sending failed. ``sent``: the message may have reached the peer (it was written).
    ``transient``: trying again later may succeed."""

    transient = True

    def __init__(self, message: str, *, sent: bool, ack: Ack | None = None):
        super().__init__(message)
        self.sent = sent
        self.ack = ack


class MLLPTransientError(MLLPError):
    """Connection refused/reset, no ACK in time, AR/CR, an ACK that does not match."""


class MLLPPermanentError(MLLPError):
    """AE/CE (the receiver refused the content), or a message that must not be resent."""

    transient = False


class MLLPClient:
    """Sends HL7 messages to one host:port over one reused connection.

    ``send`` retries up to ``retries`` times with exponential backoff on a timeout, a connection
    problem or a negative/mismatched ACK, always on a fresh connection (a late ACK on the old
    one must not be taken for the next message's)."""

    def __init__(self, host: str, port: int, *, connect_timeout: float = 10.0, response_timeout: float = 30.0,
                 max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES, encoding: str = "utf-8"):
        self.host, self.port = host, port
        self.connect_timeout = connect_timeout
        self.response_timeout = response_timeout
        self.max_message_bytes = max_message_bytes
        self.encoding = encoding
        self._sock: socket.socket | None = None

    def __enter__(self) -> MLLPClient:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None

    def send(self, message: str | bytes, *, retries: int = 3, backoff: float = 1.0, backoff_max: float = 60.0,
             resend: bool = True, sleep: Callable[[float], None] = time.sleep) -> Ack:
        """Send and return the positive ACK, or raise MLLPTransientError/MLLPPermanentError.

        ``resend=False``: once the bytes were written, no second attempt whatever happens (DFT);
        the error then is permanent and its message says why it was not resent."""
        data = message.encode(self.encoding) if isinstance(message, str) else message
        control_id = message_control_id(data)
        attempt = 0
        while True:
            attempt += 1
            try:
                return self._send_once(data, control_id)
            except MLLPError as exc:
                self.close()
                if exc.sent and not resend:
                    raise MLLPPermanentError(
                        f"{exc}; not resent: this message is sent at most once", sent=True, ack=exc.ack) from exc
                if attempt > retries:
                    raise
                delay = min(backoff_max, backoff * 2 ** (attempt - 1))
                logger.info("MLLP %s:%s message %s: %s; retry %d/%d in %.1fs",
                            self.host, self.port, control_id, exc, attempt, retries, delay)
                sleep(delay)

    def _send_once(self, data: bytes, control_id: str) -> Ack:
        sock = self._connection()
        try:
            sock.sendall(mllp_wrap(data))
        except OSError as exc:
            raise MLLPTransientError(f"connection lost while sending: {exc}", sent=True) from None
        ack = self._read_ack(sock)
        if ack.control_id != control_id:
            raise MLLPTransientError(
                f"ACK for another message: MSA-2 '{ack.control_id}', sent MSH-10 '{control_id}'", sent=True, ack=ack)
        if ack.accepted:
            return ack
        detail = f"{ack.code}: {ack.text}" if ack.text else ack.code
        if ack.code in ERROR_CODES:
            raise MLLPPermanentError(f"negative ACK {detail}", sent=True, ack=ack)
        if ack.code in REJECT_CODES:
            raise MLLPTransientError(f"negative ACK {detail}", sent=True, ack=ack)
        raise MLLPTransientError(f"unknown acknowledgment code '{ack.code}' in MSA-1", sent=True, ack=ack)

    def _connection(self) -> socket.socket:
        if self._sock is not None and not _still_open(self._sock):
            self.close()
        if self._sock is None:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
            except OSError as exc:
                raise MLLPTransientError(f"cannot connect to {self.host}:{self.port}: {exc}", sent=False) from None
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._sock = sock
        return self._sock

    def _read_ack(self, sock: socket.socket) -> Ack:
        decoder = MLLPDecoder(self.max_message_bytes)
        deadline = time.monotonic() + self.response_timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise MLLPTransientError(f"no ACK within {self.response_timeout:g}s", sent=True)
            sock.settimeout(remaining)
            try:
                chunk = sock.recv(65536)
            except TimeoutError:
                raise MLLPTransientError(f"no ACK within {self.response_timeout:g}s", sent=True) from None
            except OSError as exc:
                raise MLLPTransientError(f"connection lost waiting for the ACK: {exc}", sent=True) from None
            if not chunk:
                raise MLLPTransientError("connection closed by the peer before an ACK", sent=True)
            for frame in decoder.feed(chunk):
                if frame.problem:
                    raise MLLPTransientError(f"unusable ACK frame: {frame.problem}", sent=True)
                return ack_parse(frame.payload)


def _still_open(sock: socket.socket) -> bool:
    """A reused connection is fit for the next message: not closed by the peer and without
    stray bytes waiting (a late ACK to an earlier message)."""
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return False
    return not readable


__all__ = [
    "Ack", "Frame", "MLLPClient", "MLLPDecoder", "MLLPError", "MLLPPermanentError", "MLLPTransientError",
    "ack_parse", "message_control_id", "mllp_wrap", "text_decode",
]
