"""The MLLP framing and client: against our listener and against scripted peers on 127.0.0.1."""
import select
import socket
import socketserver
import threading

import pytest

from iris_portal.hl7_mllp_client import (
    MLLPClient, MLLPDecoder, MLLPPermanentError, MLLPTransientError, message_control_id, mllp_wrap,
)

from .hl7_support import listener, orm  # noqa: F401 - fixture


# --- framing ---------------------------------------------------------------------------------------


def test_frames_are_cut_whatever_the_read_boundaries():
    stream = mllp_wrap(b"MSH|one") + b"\r\n" + mllp_wrap(b"MSH|two")
    for size in (1, 2, 3, 7, len(stream)):
        decoder = MLLPDecoder()
        frames = [f for start in range(0, len(stream), size) for f in decoder.feed(stream[start:start + size])]
        assert [(f.payload, f.problem, f.junk) for f in frames] == [(b"MSH|one", "", b""), (b"MSH|two", "", b"")]
        assert decoder.close() is None


def test_junk_missing_start_block_and_unterminated_frames():
    decoder = MLLPDecoder()
    frames = decoder.feed(b"noise\x0bMSH|a\x1c\x0d" + b"MSH|b\x1c\x0d" + b"\x0bMSH|c")
    assert [(f.payload, f.junk, f.framed) for f in frames] == [(b"MSH|a", b"noise", True), (b"MSH|b", b"", False)]
    tail = decoder.close()
    assert (tail.payload, tail.complete, tail.problem) == (
        b"MSH|c", False, "incomplete frame: the connection closed before the end block <FS><CR>")


def test_oversize_frames_are_discarded_while_streaming_with_bounded_memory():
    decoder = MLLPDecoder(max_bytes=100, keep_bytes=10)
    frames = decoder.feed(b"\x0b" + b"A" * 60)
    for _ in range(100):
        frames += decoder.feed(b"B" * 50)
        assert len(decoder._buffer) <= 161  # never more than the limit plus one read
    frames += decoder.feed(b"C\x1c")  # the end block split across reads
    frames += decoder.feed(b"\x0d" + mllp_wrap(b"MSH|next"))
    assert [(f.payload, f.size, f.oversize) for f in frames] == [(b"A" * 10, 60 + 5000 + 1, True), (b"MSH|next", 8, False)]
    assert frames[0].problem.startswith("message too large: 5061 bytes received, the limit is 100")


def test_control_id_of_outgoing_messages():
    assert message_control_id(orm(control_id="X-1").encode()) == "X-1"
    assert message_control_id(b"MSH|^\\~\\&|A|B||C|1||ORM^O01|77|P|2.4") == "77"
    with pytest.raises(ValueError, match="MSH-10"):
        message_control_id(orm(control_id="").encode())
    with pytest.raises(ValueError, match="MSH segment"):
        message_control_id(b"PID|1")


# --- against our listener --------------------------------------------------------------------------


def test_one_connection_is_reused(listener, demo):
    with MLLPClient("127.0.0.1", listener.port) as client:
        acks = [client.send(orm(control_id=f"C{i}", order_id=f"O{i}", mrn=f"M{i}"), retries=0) for i in range(3)]
        assert [(a.code, a.control_id) for a in acks] == [("AA", "C0"), ("AA", "C1"), ("AA", "C2")]
        assert len(listener.listener._connections) == 1


def test_error_ack_is_permanent_after_bounded_retries(listener, demo):
    delays = []
    with MLLPClient("127.0.0.1", listener.port) as client:
        with pytest.raises(MLLPPermanentError, match="negative ACK AE: PID-7") as caught:
            client.send(orm(dob="1955"), retries=2, backoff=0.5, sleep=delays.append)
    assert delays == [0.5, 1.0] and caught.value.ack.code == "AE" and caught.value.sent


def test_reject_ack_is_transient(listener, demo):
    with MLLPClient("127.0.0.1", listener.port) as client:
        with pytest.raises(MLLPTransientError, match="negative ACK AR: MSH-4: unknown sender"):
            client.send(orm(facility="STRANGER"), retries=0)


# --- against scripted peers ------------------------------------------------------------------------


class ScriptedPeer(socketserver.ThreadingTCPServer):
    """Answers the n-th message it receives as ``script(n, control_id)`` says: bytes to send
    back (framed for you), or None to stay silent; ``close_after`` closes each connection after
    one answer."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, script, close_after=False):
        self.script, self.close_after = script, close_after
        self.received, self.connections = [], 0
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _ScriptedHandler)
        threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()

    @property
    def port(self):
        return self.server_address[1]


class _ScriptedHandler(socketserver.BaseRequestHandler):
    def handle(self):
        with self.server.lock:
            self.server.connections += 1
        decoder = MLLPDecoder()
        while True:
            try:
                chunk = self.request.recv(65536)
            except OSError:
                return
            if not chunk:
                return
            for frame in decoder.feed(chunk):
                with self.server.lock:
                    self.server.received.append(frame.payload)
                    number = len(self.server.received)
                answer = self.server.script(number, message_control_id(frame.payload))
                if answer is not None:
                    self.request.sendall(mllp_wrap(answer))
                if self.server.close_after:
                    return


def ack(code, control_id):
    return f"MSH|^~\\&|R|R|S|S|20250101||ACK^O01^ACK|A{control_id}|P|2.4\rMSA|{code}|{control_id}".encode()


@pytest.fixture
def scripted():
    peers = []

    def start(script, **options):
        peers.append(ScriptedPeer(script, **options))
        return peers[-1]

    yield start
    for peer in peers:
        peer.shutdown()
        peer.server_close()


def test_timeout_then_success_on_a_fresh_connection(scripted):
    peer = scripted(lambda n, cid: None if n == 1 else ack("AA", cid))
    delays = []
    with MLLPClient("127.0.0.1", peer.port, response_timeout=0.3) as client:
        assert client.send(orm(), retries=2, backoff=0.01, sleep=delays.append).code == "AA"
    assert len(peer.received) == 2 and peer.connections == 2 and delays == [0.01]


def test_ack_for_another_message_is_not_accepted(scripted):
    peer = scripted(lambda n, cid: ack("AA", "SOMETHING-ELSE") if n == 1 else ack("CA", cid))
    with MLLPClient("127.0.0.1", peer.port) as client:
        assert client.send(orm(), retries=1, sleep=lambda s: None).code == "CA"
    assert len(peer.received) == 2


@pytest.mark.parametrize("code, error", [("AE", MLLPPermanentError), ("CE", MLLPPermanentError),
                                         ("AR", MLLPTransientError), ("CR", MLLPTransientError)])
def test_negative_acks(scripted, code, error):
    peer = scripted(lambda n, cid: ack(code, cid))
    with MLLPClient("127.0.0.1", peer.port) as client:
        with pytest.raises(error, match=f"negative ACK {code}"):
            client.send(orm(), retries=1, sleep=lambda s: None)
    assert len(peer.received) == 2


@pytest.mark.parametrize("answer", [b"not hl7 at all", b"MSH|^~\\&|R|R|S|S|1||ACK|1|P|2.4\rMSA|ZZ|MSG-1"])
def test_unusable_acks_are_transient(scripted, answer):
    peer = scripted(lambda n, cid: answer)
    with MLLPClient("127.0.0.1", peer.port) as client:
        with pytest.raises(MLLPTransientError):
            client.send(orm(), retries=0)
    assert len(peer.received) == 1


def test_at_most_once_is_never_resent_and_says_why(scripted):
    peer = scripted(lambda n, cid: None)
    with MLLPClient("127.0.0.1", peer.port, response_timeout=0.2) as client:
        with pytest.raises(MLLPPermanentError, match="no ACK within 0.2s; not resent: this message is sent at most once"):
            client.send(orm(), retries=5, resend=False, sleep=lambda s: None)
    assert len(peer.received) == 1


def test_at_most_once_after_a_negative_ack(scripted):
    peer = scripted(lambda n, cid: ack("AR", cid))
    with MLLPClient("127.0.0.1", peer.port) as client:
        with pytest.raises(MLLPPermanentError, match="not resent") as caught:
            client.send(orm(), retries=5, resend=False, sleep=lambda s: None)
    assert len(peer.received) == 1 and caught.value.ack.code == "AR"


def test_unreachable_peer_is_transient_and_nothing_was_sent():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connection refused
        with MLLPClient("127.0.0.1", port, connect_timeout=1) as client:
            with pytest.raises(MLLPTransientError, match="cannot connect") as caught:
                client.send(orm(), retries=1, resend=False, sleep=lambda s: None)
    assert caught.value.sent is False  # safe to try again later, even for an at-most-once message


def test_connection_closed_by_the_peer_between_messages_is_replaced_before_sending(scripted):
    peer = scripted(lambda n, cid: ack("AA", cid), close_after=True)
    with MLLPClient("127.0.0.1", peer.port) as client:
        assert client.send(orm(control_id="1"), resend=False).code == "AA"
        readable, _, _ = select.select([client._sock], [], [], 10)  # wait for the peer's close
        assert readable
        # at-most-once still works: the client notices the closed connection before writing
        assert client.send(orm(control_id="2"), resend=False).code == "AA"
    assert len(peer.received) == 2 and peer.connections == 2
