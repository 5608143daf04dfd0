"""Delivery pages: portal pickup zip with manifest, the order's delivery record and resend, the
monitor with retry, endpoint administration with field errors and the send-test button. Every
view is scoped to the organization (another organization's object is a 404) and role-checked."""
import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from delivery.models import Delivery, DeliveryState, Endpoint
from delivery.selectors import deliveries_for_order
from delivery.services import deliveries_create, delivery_send
from iris_portal.models import AuditEvent
from orders.models import OrderEvent
from tests.factories import UserFactory

from .delivery_setup import endpoint_make, result_set_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def result_set():
    return result_set_make(local_id="ORD-300")


@pytest.fixture
def organization(result_set):
    return result_set.organization


def login(client, organization, **roles):
    user = UserFactory(organization=organization, **roles)
    client.force_login(user)
    return user


def stranger(client):
    """A user of another organization with every role."""
    return login(client, UserFactory().organization, is_org_admin=True, is_clinic_staff=True)


@pytest.fixture
def pickup(result_set, organization):
    endpoint_make(organization, "portal")
    [delivery] = deliveries_create(result_set=result_set)
    delivery_send(delivery_id=delivery.pk)
    return delivery


@pytest.fixture
def given_up(result_set, organization, tmp_path):
    endpoint_make(organization, "file", {"base_folder": str(tmp_path),
                                         "file_name_template": "{departmentLocalId}/{orderId}.pdf"}, name="Share")
    [delivery] = deliveries_create(result_set=result_set)
    delivery_send(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.GIVEN_UP
    return delivery


# --- Portal pickup -----------------------------------------------------------------------------

def test_pending_results_download_as_one_zip_with_manifest_and_become_retrieved(client, organization, pickup):
    login(client, organization)
    page = client.get("/delivery/pickup/")
    assert page.status_code == 200 and b"ORD-300" in page.content
    response = client.post("/delivery/pickup/download/")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(response.content))
    manifest = json.loads(bundle.read("manifest.json"))["results"]
    [row] = manifest
    assert row["order_local_id"] == "ORD-300" and row["delivery_id"] == pickup.pk
    assert bundle.read(row["file"]).startswith(b"%PDF")
    [csv_row] = list(csv.DictReader(io.StringIO(bundle.read("manifest.csv").decode())))
    assert csv_row["file"] == row["file"]
    pickup.refresh_from_db()
    assert pickup.state == DeliveryState.DELIVERED and pickup.delivered_at
    [receipt] = OrderEvent.objects.filter(event_type="ResultsDeliveryReceipt")
    assert receipt.payload["DeliveryType"] == "PortalPickup"
    assert AuditEvent.objects.filter(action="download", object_type="delivery_pickup").exists()
    assert b"ORD-300" not in client.get("/delivery/pickup/").content  # no longer new
    again = client.post("/delivery/pickup/download/")
    assert again.status_code == 302


def test_another_organization_sees_no_pending_results(client, pickup):
    stranger(client)
    assert b"ORD-300" not in client.get("/delivery/pickup/").content
    assert client.post("/delivery/pickup/download/").status_code == 302
    pickup.refresh_from_db()
    assert pickup.state == DeliveryState.PENDING


def test_pickup_needs_organization_data_access(client, organization, pickup):
    login(client, organization, is_clinic_staff=False, is_integration_admin=True)
    assert client.get("/delivery/pickup/").status_code == 403
    assert client.post("/delivery/pickup/download/").status_code == 403


# --- The delivery record on the order and resend -------------------------------------------------

def test_order_fragment_shows_status_attempts_and_plain_error(client, organization, given_up):
    user = login(client, organization, is_org_admin=True)
    deliveries = deliveries_for_order(order=given_up.order, user=user)
    html = render_to_string("delivery/_order_deliveries.html", {"deliveries": deliveries, "user": user})
    assert "Failed, no more retries" in html and "departmentLocalId" in html and "Share" in html
    assert f"/delivery/deliveries/{given_up.pk}/resend/" in html
    other = UserFactory(is_org_admin=True)
    assert deliveries_for_order(order=given_up.order, user=other) == []


def test_org_admin_resends_a_delivered_result(client, organization, result_set, tmp_path):
    endpoint_make(organization, "file", {"base_folder": str(tmp_path), "file_name_template": "{orderLocalId}.pdf"})
    [delivery] = deliveries_create(result_set=result_set)
    delivery_send(delivery_id=delivery.pk)
    (tmp_path / "ORD-300.pdf").unlink()
    login(client, organization, is_org_admin=True)
    response = client.post(f"/delivery/deliveries/{delivery.pk}/resend/", {"next": "/orders/1/"})
    assert response.status_code == 302 and response["Location"] == "/orders/1/"
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING
    delivery_send(delivery_id=delivery.pk)
    assert (tmp_path / "ORD-300.pdf").exists()


def test_resend_is_for_org_admins_of_the_organization_only(client, organization, given_up):
    login(client, organization)  # clinic staff
    assert client.post(f"/delivery/deliveries/{given_up.pk}/resend/").status_code == 404
    stranger(client)
    assert client.post(f"/delivery/deliveries/{given_up.pk}/resend/").status_code == 404
    given_up.refresh_from_db()
    assert given_up.state == DeliveryState.GIVEN_UP


# --- Monitor -----------------------------------------------------------------------------------

def test_monitor_lists_failures_and_retry_reopens(client, organization, given_up):
    login(client, organization, is_org_admin=True)
    page = client.get("/delivery/monitor/")
    assert page.status_code == 200 and f'data-delivery="{given_up.pk}"'.encode() in page.content
    assert client.post(f"/delivery/deliveries/{given_up.pk}/retry/").status_code == 302
    given_up.refresh_from_db()
    assert given_up.state == DeliveryState.PENDING and given_up.attempts == 0


def test_monitor_and_retry_are_scoped_and_for_admins(client, organization, given_up):
    login(client, organization)  # clinic staff
    assert client.get("/delivery/monitor/").status_code == 403
    assert client.post(f"/delivery/deliveries/{given_up.pk}/retry/").status_code == 404
    stranger(client)
    assert f'data-delivery="{given_up.pk}"'.encode() not in client.get("/delivery/monitor/").content
    assert client.post(f"/delivery/deliveries/{given_up.pk}/retry/").status_code == 404
    given_up.refresh_from_db()
    assert given_up.state == DeliveryState.GIVEN_UP


# --- Endpoints ---------------------------------------------------------------------------------

def file_form(folder, **changes):
    return {"name": "Clinic share", "payload_kind": "pdf", "enabled": "on", "failure_contact": "ops@clinic.example",
            "config_base_folder": str(folder), "config_file_name_template": "{orderLocalId}.pdf",
            "config_create_folders": "on", **changes}


def test_org_admin_creates_an_endpoint_and_bad_settings_show_on_their_field(client, organization, tmp_path):
    login(client, organization, is_org_admin=True)
    assert client.get("/delivery/endpoints/new/sftp/").status_code == 200
    bad = client.post("/delivery/endpoints/new/file/", file_form(tmp_path, config_file_name_template="../{orderId}"))
    assert bad.status_code == 200
    assert "config_file_name_template" in bad.context["form"].errors
    assert not Endpoint.objects.exists()
    ok = client.post("/delivery/endpoints/new/file/", file_form(tmp_path))
    assert ok.status_code == 302
    endpoint = Endpoint.objects.get()
    assert endpoint.organization == organization and endpoint.config["base_folder"] == str(tmp_path)
    listing = client.get("/delivery/endpoints/")
    assert b"Clinic share" in listing.content


def test_send_test_button_delivers_a_sample_and_shows_the_outcome(client, organization, tmp_path):
    login(client, organization, is_org_admin=True)
    response = client.post("/delivery/endpoints/new/file/", {**file_form(tmp_path), "send_test": "1"})
    assert response.status_code == 200 and response.context["outcome"].success
    assert (tmp_path / "IRIS-TEST.pdf").exists() and not Endpoint.objects.exists()
    failing = client.post("/delivery/endpoints/new/file/",
                          {**file_form(tmp_path / "missing"), "send_test": "1"})
    assert not failing.context["outcome"].success and b'data-test-outcome="failure"' in failing.content


def test_send_test_of_a_stored_endpoint(client, organization, tmp_path):
    endpoint = endpoint_make(organization, "file", {"base_folder": str(tmp_path),
                                                    "file_name_template": "{orderLocalId}.pdf"})
    login(client, organization, is_org_admin=True)
    assert client.post(f"/delivery/endpoints/{endpoint.pk}/test/").status_code == 302
    assert (tmp_path / "IRIS-TEST.pdf").exists()


def test_editing_keeps_a_secret_left_blank(client, organization):
    endpoint = endpoint_make(organization, "sftp", {"host": "127.0.0.1", "username": "iris", "password": "s3cret",
                                                    "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ8u0f3R9w4p7Vd1i"
                                                                "Q2wq9pB5yq5pQ3vQq1zH2r6n6m7",
                                                    "file_name_template": "{orderLocalId}.pdf"})
    login(client, organization, is_org_admin=True)
    page = client.get(f"/delivery/endpoints/{endpoint.pk}/")
    assert b"s3cret" not in page.content
    form = {"name": "Renamed", "payload_kind": "pdf", "enabled": "on", "config_host": "127.0.0.1",
            "config_username": "iris", "config_host_key": endpoint.config["host_key"],
            "config_file_name_template": "{orderLocalId}.pdf", "config_password": ""}
    assert client.post(f"/delivery/endpoints/{endpoint.pk}/", form).status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.name == "Renamed" and endpoint.config["password"] == "s3cret"


def test_endpoints_are_scoped_and_for_admins(client, organization, tmp_path):
    endpoint = endpoint_make(organization, "file", {"base_folder": str(tmp_path),
                                                    "file_name_template": "{orderLocalId}.pdf"})
    login(client, organization)  # clinic staff
    assert client.get("/delivery/endpoints/").status_code == 403
    assert client.get(f"/delivery/endpoints/{endpoint.pk}/").status_code == 404
    stranger(client)
    assert b"file endpoint" not in client.get("/delivery/endpoints/").content
    assert client.get(f"/delivery/endpoints/{endpoint.pk}/").status_code == 404
    assert client.post(f"/delivery/endpoints/{endpoint.pk}/", file_form(tmp_path)).status_code == 404
    assert client.post(f"/delivery/endpoints/{endpoint.pk}/test/").status_code == 404
    assert not (tmp_path / "IRIS-TEST.pdf").exists()
    assert client.get("/delivery/endpoints/new/nonsense/").status_code == 404
    assert Delivery.objects.count() == 0


def test_monitor_shows_deliveries_stuck_while_sending(client, organization, result_set, tmp_path):
    endpoint_make(organization, "file", {"base_folder": str(tmp_path), "file_name_template": "{orderId}.pdf"})
    [delivery] = deliveries_create(result_set=result_set)
    Delivery.objects.filter(pk=delivery.pk).update(state=DeliveryState.SENDING, attempts=1,
                                                   claimed_until=timezone.now() - dt.timedelta(minutes=1))
    login(client, organization, is_org_admin=True)
    page = client.get("/delivery/monitor/").content.decode()
    assert f'data-delivery="{delivery.pk}" data-state="sending"' in page and "Stuck while sending" in page
