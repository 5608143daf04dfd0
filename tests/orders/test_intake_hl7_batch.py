"""Frames in batches (``hl7_frames_receive``, what the listener does under load) get the answers
and leave the database exactly as one-by-one processing (``hl7_frame_receive``) does, including
replays inside a batch, rejections, and frames the batch path leaves to the one-by-one path;
and ``hl7_listener --processes N`` serves from several processes on one port."""
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.db import connection

from iris_portal.hl7_mllp_client import MLLPClient, MLLPDecoder, mllp_wrap
from orders.intake.hl7.intake import hl7_frame_receive, hl7_frames_receive
from orders.intake.hl7.senders import SenderDirectory
from orders.models import InboundChannel, InboundMessage, Order, OrderEvent, OrderExam
from organizations.models import HL7Interface
from patients.models import Patient
from tests.factories import OrganizationFactory, SiteFactory

from .hl7_support import orm


def frame(text: str | bytes):
    data = text.encode() if isinstance(text, str) else text
    return MLLPDecoder().feed(mllp_wrap(data))[0]


def traffic():
    """One batch's worth of everything a listener meets."""
    return [
        orm(control_id="A", order_id="O-A", mrn="M-A"),                    # accepted
        orm(control_id="B", order_id="O-B", mrn="M-B", name=""),           # AE: PID-5 missing (mapping)
        orm(control_id="C", order_id="O-C", mrn="M-C", site="NOPE"),       # AE: the service refuses the site
        "this is not HL7 at all",                                          # AR
        orm(control_id="D", order_id="O-D", mrn="M-D", facility="STRANGER"),  # AR: unknown sender
        orm(control_id="A", order_id="O-A", mrn="M-A"),                    # replay of A in the same batch: AA
        orm(control_id="E", order_id="O-A", mrn="M-A"),                    # same placer order, new MSH-10: AA, nothing new
        orm(control_id="F", order_id="O-F", mrn="M-A"),                    # R6: cancels O-A
        orm(control_id="G", order_id="O-G", mrn="M-G", control="CA"),      # CA of an unknown order: AE
        orm(control_id="PRE", order_id="O-X", mrn="M-X"),                  # MSH-10 accepted before, other body: AE
    ]


def snapshot():
    rows = [(r.status, r.control_id, r.error.split(" (inbound")[0], r.order.local_id if r.order else None)
            for r in InboundMessage.objects.filter(channel=InboundChannel.HL7).select_related("order").order_by("pk")]
    orders = sorted(Order.objects.values_list("local_id", "status", "patient__local_id"))
    events = sorted(OrderEvent.objects.values_list("event_type", "success", "order__local_id", "inbound_message__control_id"),
                    key=repr)
    return {"rows": sorted(rows, key=repr), "orders": orders, "events": events,
            "patients": sorted(Patient.objects.values_list("local_id", "last_name"))}


def _run(mode: str):
    senders = SenderDirectory(max_age=0)
    hl7_frame_receive(frame=frame(orm(control_id="PRE", order_id="O-PRE", mrn="M-PRE")), senders=senders)
    frames = [frame(text) for text in traffic()]
    if mode == "batch":
        receipts = hl7_frames_receive(frames=frames, senders=senders)
    else:
        receipts = [hl7_frame_receive(frame=f, senders=senders) for f in frames]
    return receipts, snapshot()


def _ack_body(receipt) -> bytes:
    """The ACK without its MSH (time, control id) and inbox ids (the two runs number differently)."""
    return re.sub(rb"inbound \d+", b"inbound N", receipt.ack.split(b"\r", 1)[1])


def _forget_everything():
    for model in (OrderEvent, InboundMessage, OrderExam, Order, Patient):
        model.objects.all().delete()


def test_a_batch_answers_and_stores_like_one_by_one(demo):
    expected_receipts, expected = _run("one_by_one")
    _forget_everything()
    receipts, got = _run("batch")
    codes = [receipt.code for receipt in receipts]
    assert codes == ["AA", "AE", "AE", "AR", "AR", "AA", "AA", "AA", "AE", "AE"]
    assert codes == [receipt.code for receipt in expected_receipts]
    assert [_ack_body(r) for r in receipts] == [_ack_body(r) for r in expected_receipts]
    assert b"PID-5" in receipts[1].ack and b"unknown site 'NOPE'" in receipts[2].ack
    assert receipts[5].inbound_id == receipts[0].inbound_id  # the replay points at the first
    assert got == expected


def test_a_batch_spanning_organizations_keeps_each_in_its_own(demo):
    other = OrganizationFactory(evaluation_types=["DR"])
    SiteFactory(organization=other, local_id="OTHER-SITE", state="GA")
    HL7Interface.objects.create(organization=other, name="Other feed", sending_applications=["EPIC"],
                                sending_facilities=["OTHERFAC"])
    frames = [frame(orm(control_id="X1", order_id="O-1", mrn="M-1")),
              frame(orm(control_id="Y1", order_id="O-1", mrn="M-1", facility="OTHERFAC", site="OTHER-SITE")),
              frame(orm(control_id="X2", order_id="O-2", mrn="M-2"))]
    receipts = hl7_frames_receive(frames=frames, senders=SenderDirectory(max_age=0))
    assert [r.code for r in receipts] == ["AA", "AA", "AA"]
    assert sorted(Order.objects.filter(organization=demo).values_list("local_id", flat=True)) == ["O-1", "O-2"]
    other_order = Order.objects.get(organization=other)
    assert (other_order.local_id, other_order.site.local_id, other_order.state) == ("O-1", "OTHER-SITE", "GA")
    assert InboundMessage.objects.get(control_id="Y1").organization == other


def test_a_failing_batch_falls_back_to_one_by_one(demo, monkeypatch):
    from orders.intake.hl7 import intake

    def explode(entries):
        raise RuntimeError("batch path broken")

    monkeypatch.setattr(intake, "_organization_batch", explode)
    receipts = hl7_frames_receive(frames=[frame(orm(control_id=f"F{i}", order_id=f"O{i}", mrn=f"M{i}")) for i in range(3)])
    assert [r.code for r in receipts] == ["AA"] * 3 and Order.objects.count() == 3


def _database_url() -> str:
    settings = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    return f"postgres://{settings['USER']}@{settings['HOST']}:{settings['PORT']}/{settings['NAME']}"


def test_several_listener_processes_share_the_port_and_stop_on_sigterm(transactional_db, demo):
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, DATABASE_URL=_database_url(), LOG_LEVEL="WARNING")
    process = subprocess.Popen([sys.executable, "manage.py", "hl7_listener", "--port", "0", "--processes", "2"],
                               cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert line.startswith("HL7 listener on 127.0.0.1:") and "(2 processes)" in line
        port = int(line.split(":")[1].split()[0])
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert len(children) == 2
        codes = []

        def client(n):
            with MLLPClient("127.0.0.1", port, response_timeout=30) as mllp:
                for k in range(3):
                    codes.append(mllp.send(orm(control_id=f"P{n}-{k}", order_id=f"P{n}-{k}", mrn=f"PM{n}-{k}"),
                                           retries=0).code)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert codes == ["AA"] * 12 and Order.objects.count() == 12

        os.kill(int(children[0]), signal.SIGKILL)  # a listener process dies: the supervisor replaces it
        assert f"HL7 listener process {children[0]} ended" in process.stderr.readline()
        replaced = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        assert len(replaced) == 2 and children[0] not in replaced
        codes.clear()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(4, 8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert codes == ["AA"] * 12 and Order.objects.count() == 24
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0 and "HL7 listener stopped" in out, err
        assert not any(Path(f"/proc/{pid}").exists() for pid in replaced)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
