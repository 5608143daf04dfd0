"""ORM^O01 over MLLP end to end: our listener and our client over 127.0.0.1 (SPEC 4.3, R11, R13)."""
import datetime as dt
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from hl7apy.consts import VALIDATION_LEVEL
from hl7apy.parser import parse_message

from iris_portal.hl7_mllp_client import MLLPClient, mllp_wrap
from orders.intake.hl7 import intake
from orders.intake.hl7.intake import hl7_frame_receive
from orders.intake.hl7.message import message_parse
from orders.intake.hl7.senders import SenderDirectory
from orders.models import InboundChannel, InboundMessage, InboundStatus, Order, OrderEvent
from organizations.models import HL7Interface
from patients.models import Patient

from .hl7_support import (  # noqa: F401 - fixtures
    FIXTURE_SITE, ListenerThread, exchange, fixture_message, hl7_org, listener, orm, running_listener, send_one,
)

def hl7_rows():
    return InboundMessage.objects.filter(channel=InboundChannel.HL7).order_by("pk")


def assert_valid_ack(ack):
    """Our ACKs parse and validate with hl7apy: STRICT, except that an ACK to bytes whose MSH-10
    could not be read has an empty MSA-2 (required by HL7, but there is nothing to echo)."""
    level = VALIDATION_LEVEL.STRICT if ack.control_id else VALIDATION_LEVEL.TOLERANT
    parsed = parse_message(ack.raw, validation_level=level, find_groups=True)
    assert parsed.name == "ACK" and parsed.msa.msa_1.value == ack.code
    if ack.control_id:
        assert parsed.validate()


# --- the published examples --------------------------------------------------------------------


@pytest.mark.parametrize("name, mrn, first, dob, site, dx, order_id, control_id", [
    ("orm-1.hl7", "TestMrn1096", "TAMMY", dt.date(1954, 10, 26), FIXTURE_SITE, "E119", "Order578914", "20200228150014"),
    ("orm-2.hl7", "TestMrn9958", "TERRY", dt.date(1995, 2, 22), "109", "E113299", "Order501138", "20200303194509"),
])
def test_published_examples_become_orders(listener, hl7_org, name, mrn, first, dob, site, dx, order_id, control_id):
    with MLLPClient("127.0.0.1", listener.port, response_timeout=20) as client:
        ack = client.send(fixture_message(name), retries=0)
    assert (ack.code, ack.control_id) == ("AA", control_id)
    assert_valid_ack(ack)
    assert "|ACK^O01^ACK|" in ack.raw and ack.raw.startswith("MSH|^~\\&|IRIS|IRIS|ACME|")  # mirrored

    order = Order.objects.select_related("patient", "site").get(organization=hl7_org, local_id=order_id)
    patient = order.patient
    assert (patient.local_id, patient.first_name, patient.last_name, patient.dob) == (mrn, first, "TestVendor", dob)
    assert (patient.birth_gender, patient.dx_code, patient.phone) == ("M", dx, "(425)444-5555")
    assert order.site.local_id == site and order.state == "FL"
    assert (order.source, order.evaluation_types, order.cpt_code, order.encounter_number) == ("hl7", ["DR"], "92250", "1234")
    # ORC-12 there is "a diaz@...^Diaz^Adam^...^SERDOTON": a local id, not an NPI, so no provider is linked.
    assert order.ordering_provider is None
    inbound = InboundMessage.objects.get(order=order)
    assert (inbound.status, inbound.sender, inbound.control_id, inbound.message_type) == (
        InboundStatus.PROCESSED, f"ACME|{'Overlook Hotel' if name == 'orm-1.hl7' else 'Test Hospital'}", control_id, "ORM^O01")
    assert "111-223333" not in inbound.body and "TestMrn" in inbound.body  # R13: PID-19 blanked, rest kept


def test_interface_settings_pick_mrn_site_and_provider(listener, demo):
    # ORC-12 repeats: the repetition typed NPI (ORC-12.13) is the ordering provider.
    provider = "OP1^Doe^Jack^^^^^^SERDOTON^^^^SERDOTON~1234567893^Reader^Grace^^^MD^^^^^^^NPI"
    assert send_one(listener.port, orm(provider=provider)).code == "AA"
    provider = Order.objects.get(local_id="ORD-1").ordering_provider
    assert (provider.npi, provider.last_name, provider.first_name, provider.degrees) == ("1234567893", "Reader", "Grace", "MD")

    # MRN from PID-3, the repetition whose identifier type (PID-3.5) is MR; SS-typed ones are SSNs.
    HL7Interface.objects.filter(organization=demo).update(mrn_source=HL7Interface.MrnSource.PID_3, mrn_identifier_type="MR")
    message = orm(control_id="MSG-2", order_id="ORD-2").replace(
        "PID|1|MRN-1^^^^MR||", "PID|1||ACCT9^^^^AN~MRN-77^^^^MR~999-88-7777^^^^SS|")
    assert send_one(listener.port, message).code == "AA"
    assert Order.objects.get(local_id="ORD-2").patient.local_id == "MRN-77"
    assert "999-88-7777" not in hl7_rows().last().body

    # Site from ORC-13.1 (mapped code PC1234); PV1-3.1 is then ignored.
    HL7Interface.objects.filter(organization=demo).update(
        mrn_source=HL7Interface.MrnSource.PID_2, site_source=HL7Interface.SiteSource.ORC_13)
    message = orm(control_id="MSG-3", order_id="ORD-3", mrn="MRN-3", site="NOWHERE",
                  provider="1234567893^Reader^Grace^^^^^^^^^^NPI|PC1234^^^20403")
    assert send_one(listener.port, message).code == "AA"
    assert Order.objects.get(local_id="ORD-3").site.local_id == "PC1234"


# --- change, cancel, replays ----------------------------------------------------------------------


def test_change_and_cancel(listener, demo):
    assert send_one(listener.port, orm()).code == "AA"
    changed = orm(control_id="MSG-2", control="XO", name="Lovelace^Augusta")
    assert send_one(listener.port, changed).code == "AA"
    order = Order.objects.select_related("patient").get(local_id="ORD-1")
    assert order.patient.first_name == "Augusta"
    assert send_one(listener.port, orm(control_id="MSG-3", control="CA")).code == "AA"
    order.refresh_from_db()
    assert order.status == "cancelled"
    ack = send_one(listener.port, orm(control_id="MSG-4", control="XO"))
    assert ack.code == "AE" and "ORC^1^2^" in ack.errors[0]  # closed orders refuse changes (R8)


def test_resends_and_duplicates(listener, demo):
    message = orm()
    assert send_one(listener.port, message).code == "AA"
    counts = (hl7_rows().count(), Order.objects.count(), Patient.objects.count(), OrderEvent.objects.count())
    # The same message again (a resend may carry a new MSH-7): acknowledged, nothing changes.
    ack = send_one(listener.port, message.replace("|20250101120000|", "|20250101120500|"))
    assert (ack.code, ack.control_id) == ("AA", "MSG-1")
    assert (hl7_rows().count(), Order.objects.count(), Patient.objects.count(), OrderEvent.objects.count()) == counts

    # The same MSH-10 with other content: refused (AE, MSH-10 205) and kept.
    ack = send_one(listener.port, orm(order_id="ORD-2"))
    assert ack.code == "AE" and ack.errors[0].startswith("ERR|MSH^1^10^205")
    assert not Order.objects.filter(local_id="ORD-2").exists()
    assert hl7_rows().last().status == InboundStatus.REJECTED and "ORD-2" in hl7_rows().last().body

    # The same placer order under a new MSH-10: a duplicate submission, idempotent.
    assert send_one(listener.port, orm(control_id="MSG-9")).code == "AA"
    assert Order.objects.filter(local_id="ORD-1").count() == 1
    assert "duplicate submission" in str(OrderEvent.objects.order_by("pk").last().payload)


def test_rejected_message_is_processed_again_when_resent(listener, demo):
    """A fix on our side (here: the site mapping) makes the sender's resend of the same MSH-10 succeed."""
    message = orm(site="NEWCLINIC")
    assert send_one(listener.port, message).code == "AE"
    interface = HL7Interface.objects.get(organization=demo)
    interface.site_mappings.create(code="NEWCLINIC", site=demo.sites.get(local_id="PC1234"))
    assert send_one(listener.port, message).code == "AA"
    assert [row.status for row in hl7_rows()] == [InboundStatus.REJECTED, InboundStatus.PROCESSED]


# --- errors: AE names the field, AR for what cannot be processed ------------------------------------


SEMANTIC_ERRORS = [  # (change to a valid message, ERR-1 start, the reason)
    (lambda m: m.replace("Lovelace^Ada", ""), "PID^1^5^101", "PID-5.2 (Patient.Name.First): required"),
    (lambda m: m.replace("|19551210|", "|19551332|"), "PID^1^7^102", "PID-7 (Patient.Dob): '19551332' is not an HL7 date"),
    (lambda m: m.replace("PV1||O|PC1234", "PV1||O|ELSEWHERE"), "PV1^1^3^204", "PV1-3.1 (Site.LocalId): unknown site 'ELSEWHERE'"),
    (lambda m: m.replace("ORC|NW|", "ORC|SC|"), "ORC^1^1^103", "ORC-1 (OrderControlCode): 'SC' is not supported"),
    (lambda m: m.replace("ORC|NW|", "ORC|XO|"), "ORC^1^2^204", "ORC-2.1 (Order.LocalId): no order 'ORD-1'"),
    (lambda m: m.replace("1234567893^Reader", "12345^Reader"), "ORC^1^12^102", "ORC-12.1 (OrderingProvider.NPI): '12345' is not an NPI"),
    (lambda m: m.replace("|F|||", "|Q|||"), "PID^1^8^103", "PID-8 (Patient.Gender): 'Q' is not an administrative sex"),
]


def test_semantic_errors_are_answered_ae_naming_the_field(listener, demo):
    for number, (change, location, reason) in enumerate(SEMANTIC_ERRORS):
        ack = send_one(listener.port, change(orm(control_id=f"E{number}")))
        assert (ack.code, ack.control_id) == ("AE", f"E{number}"), reason
        assert ack.errors[0].startswith(f"ERR|{location}&{reason}"), ack.errors
        assert ack.text.startswith(reason[:80])
        assert_valid_ack(ack)
        row = hl7_rows().last()
        assert row.status == InboundStatus.REJECTED and row.organization_id == demo.pk and row.control_id == f"E{number}"
    assert not Order.objects.exists()


def test_several_errors_and_version_25_err_layout(listener, demo):
    message = orm(name="", dob="").replace("|P|2.4", "|P|2.5.1")
    ack = send_one(listener.port, message)
    assert ack.code == "AE"
    assert_valid_ack(ack)
    assert [error.split("|")[2:4] for error in ack.errors] == [
        ["PID^1^5^1^2", "101^Required field missing^HL70357"],
        ["PID^1^5^1^1", "101^Required field missing^HL70357"],
        ["PID^1^7^1", "101^Required field missing^HL70357"],
    ]


UNPROCESSABLE = [  # (bytes sent, ERR-1 start, the reason)
    (b"\x0bhello, this is not HL7\x1c\x0d", "MSH^1^^100", "not an HL7 v2 message"),
    (b"\x0b\x1c\x0d", "^^^100", "empty frame"),
    (mllp_wrap(orm().replace("MSH|^~\\&|", "MSH|^^^^|", 1).encode()), "MSH^1^2^102", "invalid separators"),
    (mllp_wrap(orm(facility="STRANGER").encode()), "MSH^1^4^204", "MSH-4: unknown sender"),
    (mllp_wrap(orm().replace("ORM^O01", "ADT^A01").encode()), "MSH^1^9^200", "MSH-9: unsupported message type 'ADT\\S\\A01'"),
    (mllp_wrap(orm(control_id="").encode()), "MSH^1^10^101", "MSH-10 (message control id): required"),
    (mllp_wrap(b"\xff\xfe\x00binary\x00"), "MSH^1^^100", "not an HL7 v2 message"),
]


def test_unprocessable_input_is_answered_ar_and_kept(listener, demo):
    for data, location, reason in UNPROCESSABLE:
        ack = exchange(listener.port, data)[0]
        assert ack.code == "AR", reason
        assert ack.errors[0].startswith(f"ERR|{location}&{reason}"), ack.errors
        assert_valid_ack(ack)
        row = hl7_rows().last()  # R11: kept, even when it is not HL7 at all
        assert row.status == InboundStatus.REJECTED and reason.replace("\\S\\", "^") in row.error
        if "unknown sender" in reason:  # the ACK mirrors what could be read
            assert ack.raw.startswith("MSH|^~\\&|IRIS|IRIS|EPIC|STRANGER|") and ack.control_id == "MSG-1"
    assert hl7_rows().count() == len(UNPROCESSABLE) and not Order.objects.exists()


def test_lenient_framing_and_segment_separators_are_accepted(listener, demo):
    assert send_one(listener.port, orm(control_id="LF", order_id="LF", mrn="LF").replace("\r", "\n")).code == "AA"
    unframed = orm(control_id="NOVT", order_id="NOVT", mrn="NOVT").encode() + b"\x1c\x0d"
    assert exchange(listener.port, unframed)[0].code == "AA"
    acks = exchange(listener.port, b"garbage" + mllp_wrap(orm(control_id="JUNK", order_id="JUNK", mrn="JUNK").encode()))
    assert [ack.code for ack in acks] == ["AA"]  # one ACK: the message's
    junk = hl7_rows().get(body="garbage")
    assert junk.status == InboundStatus.REJECTED and "outside an MLLP frame" in junk.error
    assert set(Order.objects.values_list("local_id", flat=True)) == {"LF", "NOVT", "JUNK"}


def test_unterminated_frame_is_kept_and_answered_when_the_peer_half_closes(listener, demo):
    acks = exchange(listener.port, b"\x0b" + orm().encode(), half_close=True)
    assert [ack.code for ack in acks] == ["AR"] and acks[0].control_id == "MSG-1"
    row = hl7_rows().get()
    assert row.status == InboundStatus.REJECTED and "incomplete frame" in row.error and "ORD-1" in row.body
    assert "123-45-6789" not in row.body


def test_oversize_message_is_refused_kept_truncated_and_the_connection_goes_on(transactional_db, demo):
    with running_listener(max_message_bytes=2048) as peer:
        big = orm(extra="\rNTE|1||" + "x" * 50_000)
        acks = exchange(peer.port, mllp_wrap(big.encode()) + mllp_wrap(orm(control_id="MSG-2").encode()), expect=2)
    assert [(ack.code, ack.control_id) for ack in acks] == [("AR", "MSG-1"), ("AA", "MSG-2")]
    assert "message too large" in acks[0].text
    oversize = hl7_rows().first()
    assert oversize.status == InboundStatus.REJECTED and oversize.body.startswith("MSH|")
    assert len(oversize.body) <= 2048 and "message too large: 5" in oversize.error
    assert "123-45-6789" not in oversize.body


def test_ssn_is_never_stored(listener, demo):
    messages = [orm(), orm(control_id="X", facility="STRANGER"), orm(control_id="Y", name="")]
    for message in messages:
        send_one(listener.port, message)
    assert hl7_rows().count() == 3
    assert not InboundMessage.objects.filter(body__contains="123-45-6789").exists()
    assert OrderEvent.objects.exists()
    assert not any("123-45-6789" in json.dumps(event.payload) + event.error_message for event in OrderEvent.objects.all())


def test_processing_crash_keeps_the_message_and_answers_ar(listener, demo, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(intake, "order_request_process", explode)
    monkeypatch.setattr(intake, "_organization_batch", explode)  # the batch path falls back to one by one
    ack = send_one(listener.port, orm())
    assert ack.code == "AR" and "internal error" in ack.text
    row = hl7_rows().get()
    assert row.status == InboundStatus.FAILED and "ORD-1" in row.body


# --- concurrency and lifecycle --------------------------------------------------------------------


def test_slow_client_and_slow_message_do_not_block_others(transactional_db, demo):
    release = threading.Event()
    entered = threading.Event()

    def handler(*, frame, **options):
        if b"SLOW" in frame.payload:
            entered.set()
            assert release.wait(20)
        return hl7_frame_receive(frame=frame, **options)

    with running_listener(handler=handler, workers=4) as peer:
        stalled = socket.create_connection(("127.0.0.1", peer.port))
        stalled.sendall(b"\x0bMSH|^~\\&|half a message")  # and then nothing
        slow = threading.Thread(target=send_one, args=(peer.port, orm(control_id="SLOW", order_id="SLOW")))
        slow.start()
        assert entered.wait(10)
        assert send_one(peer.port, orm(control_id="FAST", order_id="FAST", mrn="MRN-2")).code == "AA"
        assert not Order.objects.filter(local_id="SLOW").exists()
        release.set()
        slow.join(20)
        stalled.close()
    assert set(Order.objects.values_list("local_id", flat=True)) == {"SLOW", "FAST"}


def test_stop_finishes_the_message_in_progress_before_closing(transactional_db, demo):
    release, entered = threading.Event(), threading.Event()
    acks = []

    def handler(*, frame, **options):
        entered.set()
        assert release.wait(20)
        return hl7_frame_receive(frame=frame, **options)

    peer = ListenerThread(handler=handler, workers=2).start()
    sender = threading.Thread(target=lambda: acks.append(send_one(peer.port, orm())))
    sender.start()
    assert entered.wait(10)
    stopper = threading.Thread(target=peer.stop)
    stopper.start()
    release.set()
    stopper.join(30)
    sender.join(10)
    assert [ack.code for ack in acks] == ["AA"]
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", peer.port), timeout=2)


def test_many_connections_at_once(listener, demo):
    results = []

    def client(n):
        with MLLPClient("127.0.0.1", listener.port, response_timeout=30) as mllp:
            for k in range(3):
                results.append(mllp.send(orm(control_id=f"C{n}-{k}", order_id=f"O{n}-{k}", mrn=f"M{n}-{k}"), retries=0).code)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert results == ["AA"] * 18 and Order.objects.count() == 18


def test_management_command_serves_and_stops_on_sigterm():
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "manage.py", "hl7_listener", "--port", "0"], cwd=root,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("HL7 listener on 127.0.0.1:")
        port = int(line.rsplit(":", 1)[1])
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        process.terminate()
        out, _ = process.communicate(timeout=30)
        assert process.returncode == 0 and "HL7 listener stopped" in out
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_interface_settings_are_reread_after_max_age(demo):
    now = [0.0]
    senders = SenderDirectory(max_age=5, clock=lambda: now[0])
    header = message_parse(orm()).header
    assert senders.sender_for(header).organization == demo
    HL7Interface.objects.filter(organization=demo).update(is_active=False)
    now[0] = 4.9
    assert senders.sender_for(header) is not None  # still the settings read at 0
    now[0] = 5.0
    assert senders.sender_for(header) is None


def test_receive_without_network_stores_before_answering(demo):
    """The frame handler on its own, without a network: stored, processed, answered."""
    from iris_portal.hl7_mllp_client import MLLPDecoder

    frame = MLLPDecoder().feed(mllp_wrap(orm().encode()))[0]
    receipt = hl7_frame_receive(frame=frame)
    assert receipt.code == "AA"
    assert InboundMessage.objects.get(pk=receipt.inbound_id).order.local_id == "ORD-1"
    assert Order.objects.count() == 1
