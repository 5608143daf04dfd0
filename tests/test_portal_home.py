"""The signed-in home page and the published JSON Schemas."""
import json

import pytest
from django.urls import reverse

from iris_portal.models import AuditEvent
from tests.factories import OrderFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_anonymous_users_are_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_demo_login_works_and_home_shows_only_the_organizations_orders(client, demo):
    mine = OrderFactory(patient__site=demo.sites.get(local_id="PC1234"), local_id="MINE-1")
    theirs = OrderFactory(local_id="THEIRS-1")
    response = client.post(reverse("login"), {"username": "clinic", "password": "iris-demo-2026"})
    assert response.status_code == 302
    page = client.get("/").content.decode()
    assert mine.local_id in page and mine.patient.last_name in page
    assert theirs.local_id not in page and theirs.patient.last_name not in page
    assert AuditEvent.objects.filter(user__username="clinic", action="list", object_type="order").exists()


def test_clinic_staff_limited_to_a_site_see_only_that_site(client):
    user = UserFactory()
    site_a, site_b = SiteFactory(organization=user.organization), SiteFactory(organization=user.organization)
    user.sites.add(site_a)
    OrderFactory(patient__site=site_a, local_id="AAA-1")
    OrderFactory(patient__site=site_b, local_id="BBB-1")
    client.force_login(user)
    page = client.get("/").content.decode()
    assert "AAA-1" in page and "BBB-1" not in page


def test_home_query_count_does_not_grow_with_orders(client):
    """The dashboard runs a fixed set of queries, whatever the number of orders."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    user = UserFactory()
    site = SiteFactory(organization=user.organization)
    client.force_login(user)
    client.get("/")  # the session's first page view pushes its expiry back (a write); steady state after

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/").status_code == 200
        return len(captured)

    OrderFactory(patient__site=site)
    few = queries()
    for _ in range(30):
        OrderFactory(patient__site=site, urgent=True)
    assert queries() == few <= 12


def test_schemas_are_published_at_stable_urls(client):
    index = client.get("/schemas/").json()
    assert "/schemas/order-submission.schema.2.3.1.json" in index["schemas"]
    response = client.get("/schemas/order-submission.schema.2.3.1.json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["$id"] == "/schemas/order-submission.schema.2.3.1.json"
    assert {"OrderControlCode", "ClientGuid", "Order", "Patient", "Site"} <= set(schema["properties"])
    assert client.get("/schemas/grading-submission.schema.2.3.1.json").status_code == 200
    assert client.get("/schemas/event-OrderCreationReceipt.schema.2.3.1.json").status_code == 200
    assert client.get("/schemas/nope.json").status_code == 404


def test_emitted_events_validate_against_the_published_event_schema(client, demo):
    from orders.services.order_request import order_request_process

    from .orders.helpers import dumps, nw_request

    outcome = order_request_process(body=dumps(nw_request(demo)), channel="cli")
    schema = client.get("/schemas/event-OrderCreationReceipt.schema.2.3.1.json").json()
    event = outcome.events[0]
    assert set(schema["required"]) <= set(event)
    assert set(event) <= set(schema["properties"])
