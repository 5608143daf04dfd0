"""The Order Manager: list filters and export, new orders through the order service (one form
for patient and order, or for an existing patient), detail with timeline, change and cancel."""
import csv
import datetime as dt
import io

import pytest
from django.urls import reverse
from django.utils import timezone

from iris_portal.models import AuditEvent
from orders.models import InboundMessage, Order, OrderEvent, OrderSource, OrderStatus
from patients.models import Patient
from tests.factories import OrderFactory, OrganizationFactory, PatientFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def new_patient_and_order(site, **overrides) -> dict:
    data = {
        "patient-site": site.pk, "patient-local_id": "MRN-500", "patient-first_name": "Ada",
        "patient-last_name": "Lovelace", "patient-dob": "1955-12-10", "patient-birth_gender": "F",
        "patient-dx_code": "E11", "order-local_id": "WEB-1", "order-evaluation_types": ["DR"],
        "order-ordering_npi": "1234567893", "order-ordering_last_name": "Reader", "order-cpt_code": "92229",
    }
    data.update(overrides)
    return data


def test_patient_and_order_in_one_form_go_through_the_order_service(clinic, clinic_user, north):
    response = clinic.post(reverse("orders:add"), new_patient_and_order(north))
    order = Order.objects.get(local_id="WEB-1")
    assert response.status_code == 302 and response.url == reverse("orders:detail", args=[order.pk])
    assert order.source == OrderSource.WEB and order.status == OrderStatus.AWAITING_IMAGES
    assert (order.site, order.state, order.cpt_code, order.evaluation_types) == (north, "FL", "92229", ["DR"])
    assert order.ordering_provider.npi == "1234567893"
    assert order.patient.local_id == "MRN-500" and order.patient.dob == dt.date(1955, 12, 10)
    assert order.patient.birth_gender == "F"
    inbound = InboundMessage.objects.get(order=order)  # R11: the web request is stored raw too
    assert inbound.channel == "web" and inbound.sender == clinic_user.username
    event = OrderEvent.objects.get(order=order)
    assert event.event_type == "OrderCreationReceipt" and event.actor == clinic_user
    assert AuditEvent.objects.filter(action="create", object_type="order", object_id=str(order.pk)).exists()


def test_order_id_is_assigned_when_left_empty(clinic, north):
    clinic.post(reverse("orders:add"), new_patient_and_order(north, **{"order-local_id": ""}))
    assert Order.objects.get().local_id.startswith("W-")


def test_order_for_an_existing_patient(clinic, north):
    patient = PatientFactory(site=north, first_name="Kept")
    page = clinic.get(reverse("orders:add"), {"patient": patient.pk})
    assert "patient" not in page.context["forms"]
    response = clinic.post(reverse("orders:add"), {"patient": patient.pk, "order-local_id": "EX-1",
                                                   "order-evaluation_types": ["DR", "Glaucoma"], "order-state": "GA"})
    order = Order.objects.get(local_id="EX-1")
    assert response.status_code == 302
    assert order.patient == patient and order.state == "GA" and order.evaluation_types == ["DR", "Glaucoma"]
    assert Patient.objects.count() == 1
    patient.refresh_from_db()
    assert patient.first_name == "Kept"


def test_r6_a_second_open_order_replaces_the_first_and_says_so(clinic, north):
    patient = PatientFactory(site=north)
    first = OrderFactory(patient=patient, local_id="OLD-1")
    response = clinic.post(reverse("orders:add"), {"patient": patient.pk, "order-local_id": "NEW-1",
                                                   "order-evaluation_types": ["DR"]}, follow=True)
    first.refresh_from_db()
    assert first.status == OrderStatus.CANCELLED
    assert "cancelled in favour of the new order" in response.content.decode()


def test_rejections_name_the_field_on_the_form(clinic, north):
    PatientFactory(site=north, local_id="TAKEN")
    OrderFactory(patient=PatientFactory(site=north), local_id="USED-1")
    response = clinic.post(reverse("orders:add"), new_patient_and_order(north, **{"order-ordering_npi": "12345"}))
    assert response.status_code == 200
    assert "is not an NPI" in response.context["forms"]["order"].errors["ordering_npi"][0]
    response = clinic.post(reverse("orders:add"), new_patient_and_order(north, **{"order-local_id": "USED-1"}))
    assert "already used for another patient" in response.context["forms"]["order"].errors["local_id"][0]
    assert Order.objects.count() == 1 and Patient.objects.filter(local_id="MRN-500").count() == 0
    assert InboundMessage.objects.filter(status="rejected").count() == 2  # kept (R11)

    response = clinic.post(reverse("orders:add"), new_patient_and_order(north, **{"patient-local_id": "TAKEN"}))
    assert "open that patient" in response.context["forms"]["patient"].errors["local_id"][0]


def test_unsubscribed_evaluation_types_are_not_offered(client):
    org = OrganizationFactory(evaluation_types=["DR"])
    site = SiteFactory(organization=org)
    client.force_login(UserFactory(organization=org))
    form = client.get(reverse("orders:add")).context["forms"]["order"]
    assert [code for code, _ in form.fields["evaluation_types"].choices] == ["DR"]
    response = client.post(reverse("orders:add"), new_patient_and_order(site, **{"order-evaluation_types": ["AMD"]}))
    assert "evaluation_types" in response.context["forms"]["order"].errors


def test_another_organizations_patient_cannot_be_ordered_for(clinic, other_org):
    theirs = PatientFactory(site=other_org.sites.get())
    assert clinic.get(reverse("orders:add"), {"patient": theirs.pk}).status_code == 404
    assert clinic.post(reverse("orders:add"), {"patient": theirs.pk, "order-evaluation_types": ["DR"]}).status_code == 404
    assert not Order.objects.exists()


def test_detail_shows_timeline_and_is_audited(clinic, north):
    clinic.post(reverse("orders:add"), new_patient_and_order(north, **{"order-ordering_npi": "1234567890"}))
    order = Order.objects.get()
    page = clinic.get(reverse("orders:detail", args=[order.pk]))
    html = page.content.decode()
    assert 'data-event="OrderCreationReceipt"' in html
    assert "fails the check digit" in html  # the NPI warning is shown on the order
    assert AuditEvent.objects.filter(action="view", object_type="order", object_id=str(order.pk)).count() == 1


def test_change_goes_through_the_service_as_xo(clinic, clinic_user, north):
    order = OrderFactory(patient=PatientFactory(site=north), local_id="CH-1", encounter_number="E1")
    form = clinic.get(reverse("orders:change", args=[order.pk])).context["form"]
    assert form.initial["encounter_number"] == "E1"
    response = clinic.post(reverse("orders:change", args=[order.pk]), {
        "encounter_number": "E2", "urgent": "on", "scheduled_time": "2026-03-01T09:30", "state": "GA"})
    assert response.status_code == 302
    order.refresh_from_db()
    assert (order.encounter_number, order.urgent, order.state) == ("E2", True, "GA")
    assert order.scheduled_time == timezone.make_aware(dt.datetime(2026, 3, 1, 9, 30))
    inbound = InboundMessage.objects.get(order=order)
    assert '"OrderControlCode": "XO"' in inbound.body and inbound.sender == clinic_user.username


def test_cancel_goes_through_the_service_as_ca(clinic, north):
    order = OrderFactory(patient=PatientFactory(site=north), local_id="CA-1")
    assert b"Cancel the order" in clinic.get(reverse("orders:cancel", args=[order.pk])).content
    response = clinic.post(reverse("orders:cancel", args=[order.pk]), follow=True)
    order.refresh_from_db()
    assert order.status == OrderStatus.CANCELLED and "cancelled" in response.content.decode()
    assert OrderEvent.objects.filter(order=order, event_type="OrderCancelled", success=True).exists()
    assert b"data-change" not in response.content  # closed orders have no change/cancel actions


def test_closed_orders_cannot_be_changed_or_cancelled(clinic, north):
    order = OrderFactory(patient=PatientFactory(site=north), status=OrderStatus.COMPLETE)
    response = clinic.get(reverse("orders:change", args=[order.pk]), follow=True)
    assert "can no longer be changed" in response.content.decode()
    response = clinic.post(reverse("orders:cancel", args=[order.pk]), follow=True)
    assert "is complete; it cannot be cancelled" in response.content.decode()
    order.refresh_from_db()
    assert order.status == OrderStatus.COMPLETE


def test_another_organizations_order_is_404_everywhere(clinic, other_org):
    theirs = OrderFactory(patient=PatientFactory(site=other_org.sites.get()))
    for name in ("orders:detail", "orders:change", "orders:cancel"):
        assert clinic.get(reverse(name, args=[theirs.pk])).status_code == 404
    for name in ("orders:change", "orders:cancel"):
        assert clinic.post(reverse(name, args=[theirs.pk]), {"encounter_number": "X"}).status_code == 404
    theirs.refresh_from_db()
    assert theirs.status == OrderStatus.AWAITING_IMAGES


# Order Manager list ------------------------------------------------------------------------------

@pytest.fixture
def orders(north, south):
    now = timezone.now()
    a = OrderFactory(patient=PatientFactory(site=north, last_name="Alpha"), local_id="L-A", source=OrderSource.HL7)
    b = OrderFactory(patient=PatientFactory(site=south, last_name="Beta"), local_id="L-B", evaluation_types=["AMD"],
                     status=OrderStatus.COMPLETE, graded_at=now)
    c = OrderFactory(patient=PatientFactory(site=north, last_name="Gamma"), local_id="L-C", source=OrderSource.CSV,
                     status=OrderStatus.READY_FOR_GRADING)
    Order.objects.filter(pk=c.pk).update(created_at=now - dt.timedelta(days=10))
    return a, b, c


def listed(client, **params) -> list[str]:
    page = client.get(reverse("orders:list"), params)
    assert page.status_code == 200
    return sorted(row.record.local_id for row in page.context["table"].paginated_rows)


def test_list_filters(clinic, orders, south):
    assert listed(clinic) == ["L-A", "L-B", "L-C"]
    assert listed(clinic, status="open") == ["L-A", "L-C"]
    assert listed(clinic, status="complete") == ["L-B"]
    assert listed(clinic, site=south.pk) == ["L-B"]
    assert listed(clinic, evaluation_type="AMD") == ["L-B"]
    assert listed(clinic, source="csv") == ["L-C"]
    today = timezone.localdate()
    assert listed(clinic, created_from=(today - dt.timedelta(days=2)).isoformat()) == ["L-A", "L-B"]
    assert listed(clinic, created_to=(today - dt.timedelta(days=5)).isoformat()) == ["L-C"]
    assert listed(clinic, q="gam") == ["L-C"]
    assert listed(clinic, q="L-B") == ["L-B"]


def test_list_never_shows_another_organizations_orders(clinic, orders, other_org):
    OrderFactory(patient=PatientFactory(site=other_org.sites.get()), local_id="L-THEIRS")
    assert "L-THEIRS" not in listed(clinic)
    # a site of another organization is not a valid filter value
    page = clinic.get(reverse("orders:list"), {"site": other_org.sites.get().pk})
    assert "site" in page.context["filterset"].form.errors


def test_csv_export_of_the_filtered_set(clinic, orders):
    response = clinic.get(reverse("orders:list"), {"status": "open", "export": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="orders-')
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    header = rows[0]
    assert header[:4] == ["Order Id", "Order Local Id", "Scheduled Date", "Order Status"]
    assert {"Patient MRN", "Findings", "Diagnoses", "Care Plan", "Order Creation Source"} <= set(header)
    assert sorted(row[1] for row in rows[1:]) == ["L-A", "L-C"]
    by_id = {row[1]: dict(zip(header, row)) for row in rows[1:]}
    assert by_id["L-A"]["Order Creation Source"] == "HL7" and by_id["L-C"]["Order Status"] == "Ready for grading"
    assert AuditEvent.objects.filter(action="download", object_type="order").exists()


def test_pcp_and_integration_admin_cannot_use_the_order_manager(client, org):
    from tests.factories import ProviderFactory

    for user in (UserFactory(organization=org, is_clinic_staff=False, is_pcp=True, provider=ProviderFactory()),
                 UserFactory(organization=org, is_clinic_staff=False, is_integration_admin=True)):
        client.force_login(user)
        assert client.get(reverse("orders:list")).status_code == 403
        assert client.get(reverse("orders:add")).status_code == 403


def test_a_floating_patient_can_be_ordered_at_another_site(client):
    org = OrganizationFactory(patient_scope="organization")
    home, away = SiteFactory(organization=org, state="FL"), SiteFactory(organization=org, state="GA")
    patient = PatientFactory(site=home)
    client.force_login(UserFactory(organization=org))
    form = client.get(reverse("orders:add"), {"patient": patient.pk}).context["forms"]["order"]
    assert form.initial["site"] == home.pk
    client.post(reverse("orders:add"), {"patient": patient.pk, "order-local_id": "FL-1",
                                        "order-evaluation_types": ["DR"], "order-site": away.pk})
    order = Order.objects.get(local_id="FL-1")
    assert (order.site, order.patient, order.state) == (away, patient, "GA")  # R4, R7


def test_site_limited_staff_order_only_at_their_sites(client, org, north, south):
    user = UserFactory(organization=org)
    user.sites.add(north)
    client.force_login(user)
    response = client.post(reverse("orders:add"), new_patient_and_order(south))
    assert "site" in response.context["forms"]["patient"].errors
    assert client.post(reverse("orders:add"), new_patient_and_order(north)).status_code == 302
