"""Cloud Direct intake against the real Redis: write-only in, read-only out, exactly once,
dead letters, GradingSubmission routing."""
import json
import threading

import pytest

from orders.intake.clouddirect import routing
from orders.intake.clouddirect.broker import GROUP, stream_keys
from orders.intake.clouddirect.intake import stream_messages_process
from orders.models import InboundChannel, InboundMessage, InboundStatus, Order, OrderEvent
from tests.orders.clouddirect_support import *  # noqa: F403 - fixtures
from tests.orders.helpers import nw_request, with_code

pytestmark = pytest.mark.django_db(transaction=True)  # the worker commits; receipts are published on commit


def send(writer, organization, body, **fields) -> str:
    payload = body if isinstance(body, str) else json.dumps(body)
    return writer.xadd(stream_keys(organization).orders, {**fields, "body": payload}).decode()


def test_order_sent_with_write_only_user_gets_receipt_readable_with_read_only_user(broker, cd_org):
    writer, reader = broker.connections(cd_org)
    entry_id = send(writer, cd_org, nw_request(cd_org, site="S-FL", order_id="CD-1"))

    assert broker.worker().run_once() == 1

    order = Order.objects.get(organization=cd_org, local_id="CD-1")
    assert order.source == "clouddirect"
    inbound = InboundMessage.objects.get(channel=InboundChannel.CLOUDDIRECT, control_id=entry_id)
    assert (inbound.status, inbound.sender, inbound.organization, inbound.order) == (
        InboundStatus.PROCESSED, entry_id, cd_org, order)
    (receipt,) = broker.events(cd_org, reader=reader)
    assert receipt["ResultObjectType"] == "OrderCreationReceipt"
    assert (receipt["Success"], receipt["OrderLocalId"], receipt["IrisOrderId"]) == (True, "CD-1", order.pk)
    assert OrderEvent.objects.get(order=order).published_at is not None
    # acknowledged and removed: the inbox row is the durable copy
    assert broker.pending(cd_org) == 0
    assert broker.client.xlen(stream_keys(cd_org).orders) == 0


def test_client_guid_in_upper_case_uses_lower_case_stream_names(broker, cd_org):
    writer, reader = broker.connections(cd_org)
    body = nw_request(cd_org, site="S-FL", order_id="CD-UP")
    body["ClientGuid"] = str(cd_org.client_guid).upper()
    send(writer, cd_org, body)

    broker.worker().run_once()

    assert stream_keys(str(cd_org.client_guid).upper()).orders == f"iris:{str(cd_org.client_guid).lower()}:orders"
    assert [e["OrderLocalId"] for e in broker.events(cd_org, reader=reader)] == ["CD-UP"]


def test_ts_client_message_with_integer_enums_is_accepted(broker, cd_org):
    """What ts-service-bus emits: integer enums, PersonGender.Value, Version V2.3.1, blank objects."""
    writer, reader = broker.connections(cd_org)
    name = {"First": "", "Middle": "", "Last": ""}
    body = {
        "ClientGuid": str(cd_org.client_guid),
        "Site": {"Name": "", "Address": {"Street1": "", "Zip": "", "PostalCode": "", "Country": ""}, "LocalId": "S-FL"},
        "Patient": {"Address": {}, "Name": {"First": "Test", "Middle": "", "Last": "Patient"},
                    "Genders": [{"Context": 2, "Value": 1}, {"Context": 1, "Value": 2}],
                    "LocalId": "TS-MRN", "Dob": "1/1/2000"},
        "Camera": {"Images": [], "Name": ""},
        "Order": {"CPTCode": "", "LocalId": "TS-1", "SingleEyeOnly": False, "EvaluationTypes": [1]},
        "OrderingProvider": {"Name": name}, "ReferringProvider": {"Name": name}, "CameraOperator": {"Name": name},
        "HealthPlan": {"PrimaryCareProvider": {"Name": name}, "LocalId": ""},
        "Version": "V2.3.1", "OrderControlCode": 1,
    }
    send(writer, cd_org, body)

    broker.worker().run_once()

    order = Order.objects.select_related("patient").get(organization=cd_org, local_id="TS-1")
    assert order.evaluation_types == ["DR"]
    assert (order.patient.birth_gender, order.patient.identity_gender) == ("M", "F")
    assert broker.events(cd_org, reader=reader)[0]["Success"] is True


def test_same_message_sent_twice_creates_one_order(broker, cd_org):
    writer, reader = broker.connections(cd_org)
    body = nw_request(cd_org, site="S-FL", order_id="DUP-1")
    send(writer, cd_org, body)
    send(writer, cd_org, body)

    assert broker.worker().run_once() == 2

    assert Order.objects.filter(organization=cd_org, local_id="DUP-1").count() == 1
    first, second = broker.events(cd_org, reader=reader)
    assert first["Success"] and second["Success"]
    assert first["IrisOrderId"] == second["IrisOrderId"]
    assert "duplicate submission" in second["Warnings"][0]


def test_entry_left_pending_by_a_killed_consumer_is_processed_once_by_another(broker, cd_org):
    writer, reader = broker.connections(cd_org)
    worker_b = broker.worker(consumer="consumer-b", min_idle_ms=0)
    worker_b.maintain()  # creates the consumer group
    send(writer, cd_org, nw_request(cd_org, site="S-FL", order_id="KILL-1"))
    # consumer A reads the entry and dies before storing or acknowledging it
    delivered = broker.client.xreadgroup(GROUP, "consumer-a", {stream_keys(cd_org).orders: ">"})
    assert len(delivered[0][1]) == 1 and broker.pending(cd_org) == 1

    assert worker_b.reclaim() == 1
    assert worker_b.run_once() == 0  # nothing left, nothing processed twice

    assert Order.objects.filter(organization=cd_org, local_id="KILL-1").count() == 1
    assert InboundMessage.objects.filter(organization=cd_org).count() == 1
    assert len(broker.events(cd_org, reader=reader)) == 1
    assert broker.pending(cd_org) == 0


def test_entry_processed_but_not_acknowledged_is_only_acknowledged_on_redelivery(broker, cd_org):
    writer, reader = broker.connections(cd_org)
    worker_b = broker.worker(consumer="consumer-b", min_idle_ms=0)
    worker_b.maintain()
    send(writer, cd_org, nw_request(cd_org, site="S-FL", order_id="KILL-2"))
    # consumer A stores and processes the entry (committed), then dies before XACK
    ((_, [(entry_id, fields)]),) = broker.client.xreadgroup(GROUP, "consumer-a", {stream_keys(cd_org).orders: ">"})
    fields = {k.decode(): v for k, v in fields.items()}
    assert stream_messages_process(organization=cd_org, messages=[(entry_id.decode(), fields)]) == [entry_id.decode()]
    events_before = len(broker.events(cd_org, reader=reader))

    assert worker_b.reclaim() == 1

    assert broker.pending(cd_org) == 0
    assert Order.objects.filter(organization=cd_org, local_id="KILL-2").count() == 1
    assert InboundMessage.objects.filter(organization=cd_org).count() == 1
    assert OrderEvent.objects.filter(organization=cd_org).count() == 1
    assert len(broker.events(cd_org, reader=reader)) == events_before == 1  # nothing re-published


def test_two_consumers_racing_on_one_entry_store_it_once(broker, cd_org):
    writer, _ = broker.connections(cd_org)
    send(writer, cd_org, nw_request(cd_org, site="S-FL", order_id="RACE-1"))
    first, second = broker.worker(consumer="a", min_idle_ms=0), broker.worker(consumer="b", min_idle_ms=0)
    first.maintain()
    second.maintain()
    ((_, entries),) = broker.client.xreadgroup(GROUP, "a", {stream_keys(cd_org).orders: ">"})
    start = threading.Barrier(2)

    def handle(worker):
        start.wait(timeout=10)
        worker._handle(stream_keys(cd_org).orders, entries)
        from django.db import connection
        connection.close()

    threads = [threading.Thread(target=handle, args=(w,)) for w in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    second.reclaim()  # whichever lost a database lock left it pending: retried now

    assert Order.objects.filter(organization=cd_org, local_id="RACE-1").count() == 1
    assert InboundMessage.objects.filter(organization=cd_org).count() == 1
    assert OrderEvent.objects.filter(organization=cd_org).count() == 1
    assert broker.pending(cd_org) == 0


def test_poison_message_ends_in_dead_letter_with_its_error_after_max_attempts(broker, cd_org, monkeypatch):
    writer, reader = broker.connections(cd_org)

    def broken_patient_create(**kwargs):
        raise RuntimeError("patient store exploded")

    monkeypatch.setattr("orders.services.order_request.patient_create", broken_patient_create)
    monkeypatch.setattr("orders.services.order_batch.patient_build", broken_patient_create)  # the batch path
    entry_id = send(writer, cd_org, nw_request(cd_org, site="S-FL", order_id="POISON-1"))
    worker = broker.worker(min_idle_ms=0, max_attempts=3)

    worker.run_once()  # attempt 1
    inbound = InboundMessage.objects.get(organization=cd_org, control_id=entry_id)
    assert (inbound.status, inbound.attempts, broker.pending(cd_org)) == (InboundStatus.FAILED, 1, 1)
    worker.run_once()  # attempt 2 (reclaimed)
    worker.run_once()  # attempt 3: gives up
    worker.run_once()  # nothing left

    inbound.refresh_from_db()
    assert inbound.status == InboundStatus.DEAD_LETTER
    assert inbound.attempts == 3
    assert inbound.error.startswith(
        "gave up after 3 failed attempts; last error: internal error while processing (RuntimeError)")
    assert broker.pending(cd_org) == 0
    assert not Order.objects.filter(organization=cd_org).exists()
    receipts = broker.events(cd_org, reader=reader)
    assert len(receipts) == 3 and not any(r["Success"] for r in receipts)


def test_a_failing_message_does_not_hold_back_the_rest_of_its_batch(broker, cd_org, monkeypatch):
    from orders.services import order_request as service

    real_patient_create = service.patient_create

    def fails_for_one_patient(**kwargs):
        if kwargs["local_id"] == "MRN-BAD":
            raise RuntimeError("bad patient")
        return real_patient_create(**kwargs)

    monkeypatch.setattr(service, "patient_create", fails_for_one_patient)
    from orders.services import order_batch
    real_patient_build = order_batch.patient_build

    def build_fails_for_one_patient(**kwargs):  # the batch path: its run falls back to one by one
        if kwargs["local_id"] == "MRN-BAD":
            raise RuntimeError("bad patient")
        return real_patient_build(**kwargs)

    monkeypatch.setattr(order_batch, "patient_build", build_fails_for_one_patient)
    writer, reader = broker.connections(cd_org)
    for order_id, mrn in (("B-1", "MRN-1"), ("B-BAD", "MRN-BAD"), ("B-2", "MRN-2")):
        send(writer, cd_org, nw_request(cd_org, site="S-FL", order_id=order_id, mrn=mrn))

    assert broker.worker().run_once() == 3  # one batch

    assert set(Order.objects.filter(organization=cd_org).values_list("local_id", flat=True)) == {"B-1", "B-2"}
    assert broker.pending(cd_org) == 1  # only the failed one waits for a retry
    receipts = {e["OrderLocalId"]: e["Success"] for e in broker.events(cd_org, reader=reader)}
    assert receipts == {"B-1": True, "B-BAD": False, "B-2": True}


def test_entry_without_body_is_kept_and_rejected_naming_the_field(broker, cd_org):
    writer, reader = broker.connections(cd_org)
    entry_id = writer.xadd(stream_keys(cd_org).orders, {"payload": '{"Order": {}}'}).decode()

    broker.worker().run_once()

    inbound = InboundMessage.objects.get(organization=cd_org, control_id=entry_id)
    assert inbound.status == InboundStatus.REJECTED
    assert json.loads(inbound.body) == {"payload": '{"Order": {}}'}
    (receipt,) = broker.events(cd_org, reader=reader)
    assert receipt["Success"] is False and receipt["ErrorMessage"].startswith("body: required")
    assert broker.pending(cd_org) == 0


def test_unknown_type_is_rejected(broker, cd_org):
    writer, reader = broker.connections(cd_org)
    send(writer, cd_org, nw_request(cd_org, site="S-FL"), type="FhirBundle")

    broker.worker().run_once()

    (receipt,) = broker.events(cd_org, reader=reader)
    assert receipt["ErrorMessage"] == "type: unknown message type 'FhirBundle' (use OrderRequest or GradingSubmission)"


def test_invalid_json_is_kept_and_rejected_with_its_position(broker, cd_org):
    writer, reader = broker.connections(cd_org)
    send(writer, cd_org, '{"Order": ')

    broker.worker().run_once()

    inbound = InboundMessage.objects.get(organization=cd_org)
    assert (inbound.status, inbound.body) == (InboundStatus.REJECTED, '{"Order": ')
    assert "invalid JSON at line 1" in broker.events(cd_org, reader=reader)[0]["ErrorMessage"]


def test_message_for_another_organization_is_rejected(broker, cd_org):
    """A stream belongs to one organization: a ClientGuid naming another one is refused."""
    from tests.factories import OrganizationFactory

    other = OrganizationFactory()
    writer, reader = broker.connections(cd_org)
    send(writer, cd_org, nw_request(other, site="S-FL", order_id="X-1"))

    broker.worker().run_once()

    assert not Order.objects.filter(local_id="X-1").exists()
    assert broker.events(cd_org, reader=reader)[0]["ErrorMessage"].startswith("ClientGuid")


def test_grading_submission_without_grading_service_is_kept_and_rejected(broker, cd_org, monkeypatch):
    monkeypatch.setattr(routing, "GRADING_SERVICE_MODULES", ("grading.no_such_module_for_test",))
    writer, reader = broker.connections(cd_org)
    submission = {"Version": "2.3.1", "ClientGuid": str(cd_org.client_guid), "Site": {"LocalId": "S-FL"},
                  "LocalId": "ORD-G1", "OD": {"Gradable": True, "Findings": []}}
    entry_id = send(writer, cd_org, submission)  # no type field: recognised by its shape

    broker.worker().run_once()

    inbound = InboundMessage.objects.get(organization=cd_org, control_id=entry_id)
    assert (inbound.message_type, inbound.status) == ("GradingSubmission", InboundStatus.REJECTED)
    assert json.loads(inbound.body) == submission
    (receipt,) = broker.events(cd_org, reader=reader)
    assert receipt["ResultObjectType"] == "GradingReceipt"
    assert (receipt["Success"], receipt["OrderLocalId"]) == (False, "ORD-G1")
    assert receipt["ErrorMessage"] == "GradingSubmission: grading is not available yet"


def test_grading_submission_goes_to_the_grading_service_when_it_exists(broker, cd_org, monkeypatch):
    monkeypatch.setattr(routing, "GRADING_SERVICE_MODULES",
                        ("grading.no_such_module", "tests.orders.clouddirect_grading_stub"))
    from tests.orders import clouddirect_grading_stub

    clouddirect_grading_stub.calls.clear()
    writer, _ = broker.connections(cd_org)
    entry_id = send(writer, cd_org, {"LocalId": "ORD-G2", "OS": {"Gradable": False}}, type="GradingSubmission")

    broker.worker().run_once()

    (call,) = clouddirect_grading_stub.calls
    assert (call["channel"], call["sender"], call["organization"]) == ("clouddirect", entry_id, cd_org)
    # stored by us with the stream id, so a redelivery is recognised
    assert (call["inbound"].control_id, call["inbound"].message_type) == (entry_id, "GradingSubmission")
    assert InboundMessage.objects.get(organization=cd_org, control_id=entry_id).status == InboundStatus.PROCESSED
    assert broker.pending(cd_org) == 0


def test_grading_submission_reaches_the_real_grading_service(broker, cd_org):
    writer, reader = broker.connections(cd_org)
    submission = {"ClientGuid": str(cd_org.client_guid), "LocalId": "NO-SUCH-ORDER",
                  "OD": {"Gradable": True, "Findings": [{"Finding": "Diabetic Retinopathy", "Result": "None"}]}}
    entry_id = send(writer, cd_org, submission, type="GradingSubmission")

    broker.worker().run_once()

    inbound = InboundMessage.objects.get(organization=cd_org, control_id=entry_id)
    assert (inbound.message_type, inbound.status) == ("GradingSubmission", InboundStatus.REJECTED)
    (receipt,) = broker.events(cd_org, reader=reader)
    assert (receipt["ResultObjectType"], receipt["Success"]) == ("GradingReceipt", False)
    assert receipt["ErrorMessage"].startswith("LocalId: no order 'NO-SUCH-ORDER'")


def test_image_first_order_with_missing_blob_stands_with_a_failed_image_receipt(broker, cd_org):
    """Lead's decision: a missing image does not reject the order; its ImageReceipt fails naming the file."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    default_storage.save("blobs/cams/od.jpg", ContentFile(b"\xff\xd8fake-jpeg"))
    writer, reader = broker.connections(cd_org)
    images = [
        {"LocalId": "IMG-OD", "Laterality": "OD", "AzureBlobStorage": {"Container": "cams", "FileName": "od.jpg"}},
        {"LocalId": "IMG-OS", "Laterality": "OS", "AzureBlobStorage": {"Container": "cams", "FileName": "missing.jpg"}},
    ]
    send(writer, cd_org, nw_request(cd_org, site="S-FL", order_id="IMG-1", Camera__Images=images))

    broker.worker().run_once()

    order = Order.objects.get(organization=cd_org, local_id="IMG-1")
    assert order.status == "awaiting_images" and order.images.count() == 1
    receipts = {(e["ResultObjectType"], e.get("ImageLocalId")): e for e in broker.events(cd_org, reader=reader)}
    assert receipts[("OrderCreationReceipt", None)]["Success"] is True
    assert receipts[("ImageReceipt", "IMG-OD")]["Success"] is True
    assert receipts[("ImageReceipt", "IMG-OS")]["Success"] is False
    assert "'cams/missing.jpg' not found" in receipts[("ImageReceipt", "IMG-OS")]["ErrorMessage"]


def test_a_batch_is_processed_in_stream_order_whatever_path_each_entry_takes(broker, cd_org):
    """New orders go through the batch path, other entries one by one: a change and a
    cancellation sent right after the order, with a malformed entry between, still apply in
    the order they were sent."""
    writer, reader = broker.connections(cd_org)
    ids = [send(writer, cd_org, nw_request(cd_org, site="S-FL", order_id="SEQ-1", mrn="MRN-S")),
           writer.xadd(stream_keys(cd_org).orders, {"payload": "{}"}).decode(),
           send(writer, cd_org, with_code(nw_request(cd_org, site="S-FL", order_id="SEQ-1", mrn="MRN-S",
                                                     Patient__Name__Last="Byron"), "XO")),
           send(writer, cd_org, nw_request(cd_org, site="S-FL", order_id="SEQ-2", mrn="MRN-T")),
           send(writer, cd_org, with_code(nw_request(cd_org, site="S-FL", order_id="SEQ-1", mrn="MRN-S"), "CA"))]

    assert broker.worker().run_once() == 5  # one XREADGROUP batch

    order = Order.objects.select_related("patient").get(organization=cd_org, local_id="SEQ-1")
    assert (order.status, order.patient.last_name) == ("cancelled", "Byron")
    events = broker.events(cd_org, reader=reader)
    assert [(e["ResultObjectType"], e["Success"], e.get("OrderLocalId")) for e in events] == [
        ("OrderCreationReceipt", True, "SEQ-1"), ("OrderCreationReceipt", False, None),
        ("OrderCreationReceipt", True, "SEQ-1"), ("OrderCreationReceipt", True, "SEQ-2"),
        ("OrderCancelled", True, "SEQ-1")]
    rows = {row.control_id: row.status for row in InboundMessage.objects.filter(organization=cd_org)}
    assert [rows[entry_id] for entry_id in ids] == ["processed", "rejected", "processed", "processed", "processed"]
    assert broker.pending(cd_org) == 0
