"""The one order service: rules R3-R8, R11 (raw inbox), idempotency, events."""
import pytest

from orders.models import InboundMessage, InboundStatus, Order, OrderEvent, OrderExam, OrderStatus
from orders.services.order_request import order_request_process, order_request_replay
from organizations.models import Device, Provider, Site
from patients.models import Patient
from tests.factories import OrganizationFactory, SiteFactory

from .helpers import dumps, fixture_text, nw_request, with_code

pytestmark = pytest.mark.django_db


def submit(body, **kwargs):
    return order_request_process(body=body if isinstance(body, str | bytes) else dumps(body), channel="cli", **kwargs)


def event_types(outcome):
    return [(e["ResultObjectType"], e["Success"]) for e in outcome.events]


# --- the published examples ---------------------------------------------------------------


def test_published_examples_as_documented(demo):
    nw = submit(fixture_text("orderrequest-nw-1.json"))
    assert nw.success, nw.error
    order = nw.order
    assert (order.local_id, order.patient.local_id, order.state, order.site.local_id) == ("ORD1234", "1234", "FL", "PC1234")
    assert order.cpt_code == "57554" and order.health_plan_member_id == "1234"
    assert order.patient.dx_code == "E119" and order.patient.birth_gender == "M" and order.patient.race == "2131-1"
    assert order.ordering_provider.npi == "1234567890" and order.primary_care_provider.npi == "1234567890"
    assert order.pcp_fax == "4444444444"
    assert order.device.local_id == "1234"  # camera auto-created (Demo Health allows it)
    receipt = nw.events[0]
    assert receipt["ResultObjectType"] == "OrderCreationReceipt" and receipt["Success"] is True
    assert receipt["IrisOrderId"] == order.pk and receipt["OrderLocalId"] == "ORD1234" and receipt["PatientLocalId"] == "1234"
    assert any("check digit" in w for w in receipt["Warnings"])  # 1234567890 is a warning, not a rejection
    assert "fails the check digit" in " ".join(order.warnings)
    image_receipt = nw.events[1]
    assert image_receipt["ResultObjectType"] == "ImageReceipt" and image_receipt["Success"] is False
    assert "04211055-DFF7-41EF-9EF3-43FE61D10D43.dcm" in image_receipt["ErrorMessage"]

    xo = submit(fixture_text("orderrequest-xo-1.json"))
    assert not xo.success and "invalid JSON at line 10 column 4" in xo.error
    assert xo.inbound.status == InboundStatus.REJECTED and "Camera" in xo.inbound.body  # kept raw

    ca = submit(fixture_text("orderrequest-ca-1.json"))
    assert ca.success and event_types(ca) == [("OrderCancelled", True)]
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED
    assert not OrderExam.objects.filter(order=order, is_open=True).exists()


# --- R3 / R4: patient identity -------------------------------------------------------------


def test_r3_same_mrn_at_two_sites_is_two_patients(demo):
    other_site = Site.objects.get(organization=demo, local_id="TX200")
    assert submit(nw_request(demo, order_id="A", mrn="M1")).success
    assert submit(nw_request(demo, site=other_site.local_id, order_id="B", mrn="M1")).success
    assert Patient.objects.filter(organization=demo, local_id="M1").count() == 2


def test_r3_same_mrn_same_site_is_the_same_patient_and_demographics_update(demo):
    submit(nw_request(demo, order_id="A", mrn="M1"))
    body = nw_request(demo, order_id="B", mrn="M1", types=("AMD",))
    body["Patient"]["Name"]["Last"] = "Byron"
    assert submit(body).success
    patient = Patient.objects.get(organization=demo, local_id="M1")
    assert patient.last_name == "Byron" and patient.orders.count() == 2


def test_r3_database_refuses_a_duplicate_patient_in_a_site(demo):
    from django.db import IntegrityError, transaction

    site = Site.objects.get(organization=demo, local_id="PC1234")
    Patient.objects.create(organization=demo, site=site, local_id="DUP", first_name="a", last_name="b", dob="2000-01-01")
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(organization=demo, site=site, local_id="DUP", first_name="c", last_name="d", dob="2000-01-01")


def test_r4_floating_patients_are_one_patient_across_sites():
    org = OrganizationFactory(patient_scope="organization")
    a, b = SiteFactory(organization=org, local_id="A"), SiteFactory(organization=org, local_id="B")
    assert submit(nw_request(org, site="A", order_id="1", mrn="M9")).success
    outcome = submit(nw_request(org, site="B", order_id="2", mrn="M9", types=("AMD",)))
    assert outcome.success
    assert Patient.objects.filter(organization=org, local_id="M9").count() == 1
    assert outcome.order.patient.site == a and outcome.order.site == b


def test_r4_database_refuses_two_floating_patients_with_one_mrn():
    from django.db import IntegrityError, transaction

    org = OrganizationFactory(patient_scope="organization")
    a, b = SiteFactory(organization=org), SiteFactory(organization=org)
    Patient.objects.create(organization=org, site=a, floating=True, local_id="F", first_name="a", last_name="b", dob="2000-01-01")
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(organization=org, site=b, floating=True, local_id="F", first_name="a", last_name="b", dob="2000-01-01")


# --- R5 / R6: one open order per patient and evaluation type -----------------------------


def test_r6_new_order_cancels_the_older_open_order_of_the_same_type(demo):
    first = submit(nw_request(demo, order_id="OLD", mrn="M1"))
    second = submit(nw_request(demo, order_id="NEW", mrn="M1"))
    assert second.success
    assert event_types(second) == [("OrderCancelled", True), ("OrderCreationReceipt", True)]
    assert second.events[0]["OrderLocalId"] == "OLD"
    first.order.refresh_from_db()
    assert first.order.status == OrderStatus.CANCELLED
    assert Order.objects.filter(patient=second.order.patient, status=OrderStatus.AWAITING_IMAGES).count() == 1


def test_r6_other_evaluation_types_stay_open(demo):
    submit(nw_request(demo, order_id="DR1", mrn="M1", types=("DR",)))
    outcome = submit(nw_request(demo, order_id="AMD1", mrn="M1", types=("AMD",)))
    assert event_types(outcome) == [("OrderCreationReceipt", True)]
    assert Order.objects.filter(organization=demo, status=OrderStatus.AWAITING_IMAGES).count() == 2


def test_r6_multi_type_order_is_cancelled_by_an_order_sharing_one_type(demo):
    submit(nw_request(demo, order_id="BOTH", mrn="M1", types=("DR", "Glaucoma")))
    outcome = submit(nw_request(demo, order_id="GLAU", mrn="M1", types=("Glaucoma",)))
    assert event_types(outcome)[0] == ("OrderCancelled", True)
    assert Order.objects.get(local_id="BOTH").status == OrderStatus.CANCELLED


def test_r6_same_order_id_again_is_an_idempotent_duplicate(demo):
    first = submit(nw_request(demo, order_id="SAME", mrn="M1"))
    body = nw_request(demo, order_id="SAME", mrn="M1")
    body["Patient"]["Name"]["First"] = "Changed"
    again = submit(body)
    assert again.success and again.order.pk == first.order.pk
    assert "duplicate" in again.events[0]["Warnings"][0]
    assert Order.objects.filter(organization=demo).count() == 1
    assert Patient.objects.get(local_id="M1").first_name == "Ada"  # the duplicate changed nothing


def test_order_id_of_another_patient_is_refused(demo):
    submit(nw_request(demo, order_id="X", mrn="M1"))
    outcome = submit(nw_request(demo, order_id="X", mrn="M2"))
    assert not outcome.success and outcome.error == "Order.LocalId: 'X' is already used for another patient"


def test_r5_database_refuses_two_open_exams_of_one_type(demo):
    from django.db import IntegrityError, transaction

    first = submit(nw_request(demo, order_id="A", mrn="M1")).order
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderExam.objects.create(order=submit(nw_request(demo, order_id="B", mrn="M1", types=("AMD",))).order,
                                 patient=first.patient, evaluation_type="DR", is_open=True)


# --- R7: exam state --------------------------------------------------------------------------


def test_r7_submitted_state_wins_as_code_or_name(demo):
    assert submit(nw_request(demo, order_id="A", Order__State="Texas")).order.state == "TX"


def test_r7_site_state_is_the_default(demo):
    assert submit(nw_request(demo, order_id="A")).order.state == "FL"


def test_r7_order_without_resolvable_state_is_refused():
    org = OrganizationFactory()
    SiteFactory(organization=org, local_id="NOSTATE", state="")
    outcome = submit(nw_request(org, site="NOSTATE"))
    assert not outcome.success and outcome.error == "Order.State: required: site 'NOSTATE' has no state"


# --- R8: change and cancel ---------------------------------------------------------------


def test_r8_change_updates_demographics_and_ignores_immutable_fields(demo):
    submit(nw_request(demo, order_id="C1", mrn="M1"))
    body = with_code(nw_request(demo, order_id="C1", mrn="OTHER", types=("AMD",)), "XO")
    body["Patient"]["Name"]["Last"] = "King"
    body["Order"]["EncounterNumber"] = "ENC-7"
    outcome = submit(body)
    assert outcome.success
    warnings = " ".join(outcome.events[0]["Warnings"])
    assert "Order.EvaluationTypes: cannot be changed" in warnings and "Patient.LocalId: cannot be changed" in warnings
    order = Order.objects.get(local_id="C1")
    assert order.evaluation_types == ["DR"] and order.patient.local_id == "M1"
    assert order.patient.last_name == "King" and order.encounter_number == "ENC-7"


def test_r8_change_and_cancel_of_unknown_or_closed_orders_fail(demo):
    assert submit(with_code(nw_request(demo, order_id="NOPE"), "XO")).error == "Order.LocalId: no order 'NOPE' in this organization"
    order = submit(nw_request(demo, order_id="DONE")).order
    Order.objects.filter(pk=order.pk).update(status=OrderStatus.COMPLETE)
    assert "is complete; changes are refused" in submit(with_code(nw_request(demo, order_id="DONE"), "XO")).error
    cancel = submit({"OrderControlCode": "CA", "ClientGuid": str(demo.client_guid), "Order": {"LocalId": "DONE"}})
    assert not cancel.success and "is complete; it cannot be cancelled" in cancel.error
    assert event_types(cancel) == [("OrderCancelled", False)]


def test_r8_orders_are_addressed_within_the_organization(demo):
    other = OrganizationFactory()
    SiteFactory(organization=other, local_id="PC1234")
    submit(nw_request(demo, order_id="MINE"))
    outcome = submit({"OrderControlCode": "CA", "ClientGuid": str(other.client_guid), "Order": {"LocalId": "MINE"}})
    assert not outcome.success and "no order 'MINE'" in outcome.error
    assert Order.objects.get(local_id="MINE").status == OrderStatus.AWAITING_IMAGES


def test_resend_result_needs_a_complete_order(demo):
    submit(nw_request(demo, order_id="R1"))
    outcome = submit({"OrderControlCode": "ResendResult", "ClientGuid": str(demo.client_guid), "Order": {"LocalId": "R1"}})
    assert not outcome.success and "has no results to resend" in outcome.error


# --- organization rules ------------------------------------------------------------------


def test_unknown_client_guid_and_unsubscribed_types_are_refused(demo):
    body = nw_request(demo)
    body["ClientGuid"] = "11111111-2222-3333-4444-555555555555"
    assert submit(body).error == "ClientGuid: unknown ClientGuid '11111111-2222-3333-4444-555555555555'"
    limited = OrganizationFactory(evaluation_types=["DR"])
    SiteFactory(organization=limited, local_id="S")
    outcome = submit(nw_request(limited, site="S", types=("DR", "AMD")))
    assert outcome.error == "Order.EvaluationTypes: not subscribed by this organization: AMD"


def test_unknown_site_is_refused_unless_autocreate_with_name_and_state(demo):
    assert submit(nw_request(demo, site="NEW")).error == "Site.LocalId: unknown site 'NEW'"
    demo.allow_site_autocreate = True
    demo.save()
    assert "send Site.Name and Site.Address.State" in submit(nw_request(demo, site="NEW")).error
    outcome = submit(nw_request(demo, site="NEW", Site__Name="Mobile van", Site__Address={"State": "Georgia"}))
    assert outcome.success and outcome.order.site.state == "GA" and outcome.order.state == "GA"


def test_unknown_camera_without_autocreate_is_a_warning(demo):
    demo.allow_camera_autocreate = False
    demo.save()
    outcome = submit(nw_request(demo, Camera={"LocalId": "CAM-X"}))
    assert outcome.success and outcome.order.device is None
    assert "unknown camera 'CAM-X'" in outcome.events[0]["Warnings"][0]
    assert not Device.objects.filter(local_id="CAM-X").exists()


def test_malformed_npi_is_refused_bad_check_digit_is_a_warning(demo):
    bad = submit(nw_request(demo, OrderingProvider={"NPI": "12345"}))
    assert bad.error == "OrderingProvider.NPI: '12345' is not an NPI (10 digits)"
    good = submit(nw_request(demo, OrderingProvider={"NPI": "1234567893", "Name": {"First": "Val", "Last": "Id"}}))
    assert good.success and "Warnings" not in good.events[0]
    assert Provider.objects.get(npi="1234567893").last_name == "Id"


def test_channel_organization_must_match_client_guid(demo):
    other = OrganizationFactory()
    outcome = submit(nw_request(demo), organization=other)
    assert outcome.error == "ClientGuid: does not match the organization of this channel"


# --- R11 / R13: raw inbox, replay --------------------------------------------------------


def test_r11_raw_message_is_stored_even_when_rejected(demo):
    outcome = submit('{"OrderControlCode": "NW", "ClientGuid": "' + str(demo.client_guid) + '"')
    stored = InboundMessage.objects.get(pk=outcome.inbound.pk)
    assert stored.status == InboundStatus.REJECTED and stored.body.startswith('{"OrderControlCode"')
    assert stored.error.startswith("invalid JSON")
    assert OrderEvent.objects.filter(inbound_message=stored, success=False).count() == 1


def test_r11_processing_failure_keeps_the_message_and_rolls_back_the_rest(demo, monkeypatch):
    from orders.services import order_request as service

    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(service, "_apply_order_fields", explode)
    outcome = submit(nw_request(demo, order_id="FAIL", mrn="NEWPATIENT"))
    assert not outcome.success and "internal error" in outcome.error
    assert InboundMessage.objects.get(pk=outcome.inbound.pk).status == InboundStatus.FAILED
    assert not Patient.objects.filter(local_id="NEWPATIENT").exists()  # processing rolled back
    monkeypatch.undo()
    replayed = order_request_replay(InboundMessage.objects.get(pk=outcome.inbound.pk))
    assert replayed.success and replayed.order.local_id == "FAIL"


def test_r11_replaying_a_message_never_duplicates_an_order(demo):
    outcome = submit(nw_request(demo, order_id="REPLAY"))
    for _ in range(3):
        order_request_replay(outcome.inbound)
    assert Order.objects.filter(organization=demo, local_id="REPLAY").count() == 1


def test_r13_ssn_properties_never_reach_the_inbox(demo):
    body = nw_request(demo)
    body["Patient"]["SSN"] = "123-45-6789"
    outcome = submit(body)
    assert outcome.success
    assert "123-45-6789" not in InboundMessage.objects.get(pk=outcome.inbound.pk).body


def test_events_are_recorded_as_the_order_timeline(demo):
    first = submit(nw_request(demo, order_id="T1"))
    submit({"OrderControlCode": "CA", "ClientGuid": str(demo.client_guid), "Order": {"LocalId": "T1"}})
    timeline = list(first.order.events.values_list("event_type", flat=True))
    assert timeline == ["OrderCreationReceipt", "OrderCancelled"]


def test_image_first_reference_attaches_an_existing_blob_and_readiness(demo, settings):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    default_storage.save("blobs/PC1234/od.jpg", ContentFile(b"\xff\xd8\xff\xe0fake"))
    default_storage.save("blobs/PC1234/os.jpg", ContentFile(b"\xff\xd8\xff\xe0fake"))
    body = nw_request(demo, Camera={"LocalId": "1234", "Images": [
        {"LocalId": "i1", "Laterality": "OD", "AzureBlobStorage": {"Container": "PC1234", "FileName": "od.jpg"}},
        {"LocalId": "i2", "Laterality": "OS", "AzureBlobStorage": {"Container": "PC1234", "FileName": "os.jpg"}},
        {"LocalId": "i3", "Laterality": "OS", "AzureBlobStorage": {"Container": "..", "FileName": "../../etc/passwd"}},
    ]})
    outcome = submit(body)
    assert event_types(outcome) == [("OrderCreationReceipt", True), ("ImageReceipt", True), ("ImageReceipt", True),
                                    ("ImageReceipt", False), ("ReadyForGradingEvent", True)]
    assert outcome.order.status == OrderStatus.READY_FOR_GRADING and outcome.order.images.count() == 2
