"""Property-based: no input crashes or hangs the listener, loses the raw message, or goes
unanswered. One listener serves every example (hypothesis reuses the function's fixtures), so
the assertions compare row counts before and after each example."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iris_portal.hl7_mllp_client import END_BLOCK, VT, mllp_wrap
from orders.models import InboundChannel, InboundMessage, InboundStatus

from .hl7_support import exchange, listener, orm, send_one  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)
EXAMPLES = settings(max_examples=100, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
JUNK_NOTE = "bytes outside an MLLP frame"


def hl7_rows():
    return InboundMessage.objects.filter(channel=InboundChannel.HL7)


def assert_still_serving(port: int, tag: str) -> None:
    ack = send_one(port, orm(control_id=f"ALIVE-{tag}", order_id=f"ALIVE-{tag}", mrn=f"ALIVE-{tag}"))
    assert ack.code == "AA"


@EXAMPLES
@given(payload=st.binary(max_size=3000).map(lambda data: data.replace(VT, b"").replace(b"\x1c", b"")))
def test_any_bytes_in_a_frame_are_kept_and_answered(listener, demo, payload):
    before = hl7_rows().count()
    acks = exchange(listener.port, mllp_wrap(payload))
    assert len(acks) == 1 and acks[0].code in {"AA", "AE", "AR"}
    new = list(hl7_rows().order_by("pk")[before:])
    assert len(new) == 1 or (acks[0].code == "AA" and not new)  # none only for a replay
    if new and b"PID" not in payload:  # no SSN field to blank: kept as received
        text = payload.decode("utf-8") if _is_utf8(payload) else payload.decode("latin-1")
        assert new[0].body == text.replace("\x00", "\\x00")  # PostgreSQL text cannot hold NUL


@EXAMPLES
@given(stream=st.lists(st.one_of(st.binary(max_size=400), st.sampled_from([VT, END_BLOCK, b"\x1c", b"\r", b"\n"])),
                       max_size=12).map(b"".join))
def test_any_byte_stream_never_crashes_and_every_frame_is_answered(listener, demo, stream):
    before = hl7_rows().count()
    acks = exchange(listener.port, stream, expect=10_000, half_close=True)
    new = list(hl7_rows().order_by("pk")[before:])
    answered = [row for row in new if not row.error.startswith(JUNK_NOTE)]
    replays = sum(1 for ack in acks if ack.code == "AA") - sum(1 for row in answered if row.status == InboundStatus.PROCESSED)
    assert len(acks) == len(answered) + replays
    if stream.strip(b" \t\r\n" + VT + END_BLOCK):
        assert new or replays  # something was received, so something was kept
    assert_still_serving(listener.port, len(stream))


MUTATIONS = st.one_of(
    st.tuples(st.just("replace"), st.integers(0, 10_000), st.characters(codec="utf-8")),
    st.tuples(st.just("delete"), st.integers(0, 10_000), st.integers(1, 40)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.text(max_size=30)),
    st.tuples(st.just("newlines"), st.integers(0, 10_000), st.just("")),
    st.tuples(st.just("duplicate segment"), st.integers(0, 10_000), st.just("")),
)


def mutate(text: str, mutations) -> str:
    for kind, at, arg in mutations:
        at %= max(len(text), 1)
        if kind == "replace":
            text = text[:at] + arg + text[at + 1:]
        elif kind == "delete":
            text = text[:at] + text[at + arg:]
        elif kind == "insert":
            text = text[:at] + arg + text[at:]
        elif kind == "newlines":
            text = text.replace("\r", "\n")
        else:
            segments = text.split("\r")
            segments.insert(at % len(segments), segments[at % len(segments)])
            text = "\r".join(segments)
    return text


@EXAMPLES
@given(number=st.integers(0, 10**9), mutations=st.lists(MUTATIONS, min_size=1, max_size=4))
def test_mutated_orders_are_kept_and_answered(listener, demo, number, mutations):
    message = mutate(orm(control_id=f"M{number}", order_id=f"O{number}", mrn=f"P{number}"), mutations)
    payload = message.encode("utf-8").replace(VT, b"").replace(b"\x1c", b"")
    before = hl7_rows().count()
    acks = exchange(listener.port, mllp_wrap(payload))
    assert len(acks) == 1 and acks[0].code in {"AA", "AE", "AR"}
    new = hl7_rows().count() - before
    assert new == 1 or (acks[0].code == "AA" and new == 0)  # none only for a replay
    if new and acks[0].code != "AA":
        assert hl7_rows().order_by("pk").last().status in {InboundStatus.REJECTED, InboundStatus.FAILED}


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
