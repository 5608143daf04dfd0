"""Query-count guard: every list page runs the same number of queries for 3 rows as for a full
page (constant in page size: no query per row), and at most 12."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from organizations.models import Department, Device
from tests.factories import OrderFactory, PatientFactory, ProviderFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db
MAX_QUERIES = 12


def add_orders(org, count):
    site = org.sites.first()
    for _ in range(count):
        OrderFactory(patient=PatientFactory(site=site), ordering_provider=ProviderFactory(), urgent=True)


def add_patients(org, count):
    for _ in range(count):
        PatientFactory(site=org.sites.first())


def add_sites(org, count):
    for _ in range(count):
        site = SiteFactory(organization=org)
        Department.objects.create(site=site, local_id="D")
        Device.objects.create(site=site, local_id="C")


def add_departments(org, count):
    for index in range(count):
        Department.objects.create(site=org.sites.first(), local_id=f"D{index}-{Department.objects.count()}")


def add_devices(org, count):
    for index in range(count):
        Device.objects.create(site=org.sites.first(), local_id=f"C{index}-{Device.objects.count()}")


def add_users(org, count):
    for _ in range(count):
        UserFactory(organization=org).sites.add(org.sites.first())


def add_audit(org, count, user=None):
    from iris_portal.models import AuditEvent

    AuditEvent.objects.bulk_create([AuditEvent(organization=org, user=user, action="view", object_type="order",
                                               object_id=str(i)) for i in range(count)])


PAGES = [
    ("home", add_orders, {}),
    ("orders:list", add_orders, {}),
    ("orders:list", add_orders, {"status": "open", "evaluation_type": "DR", "q": "ORD"}),
    ("patients:list", add_patients, {}),
    ("organizations:site-list", add_sites, {}),
    ("organizations:department-list", add_departments, {}),
    ("organizations:device-list", add_devices, {}),
    ("organizations:user-list", add_users, {}),
    ("organizations:audit-log", add_audit, {}),
]


@pytest.mark.parametrize("name,add,params", PAGES, ids=[f"{p[0]}{'-filtered' if p[2] else ''}" for p in PAGES])
def test_list_page_queries_are_constant_in_page_size(client, org, org_admin, name, add, params):
    org_admin.is_clinic_staff = True
    org_admin.save()
    client.force_login(org_admin)
    client.get(reverse("home"))  # the session's first page view pushes its expiry back (a write); steady state after
    url = reverse(name)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url, params)
        assert response.status_code == 200
        return len([q for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])

    add(org, 3)
    few = count()
    add(org, 60)  # more than a page
    many = count()
    assert few == many, f"{name}: {few} queries for 3 rows, {many} for a full page"
    assert many <= MAX_QUERIES, f"{name}: {many} queries"


def test_order_detail_queries_do_not_grow_with_events_and_images(clinic, north):
    from django.core.files.base import ContentFile

    from orders.models import Image

    order = OrderFactory(patient=PatientFactory(site=north))
    url = reverse("orders:detail", args=[order.pk])
    clinic.get(reverse("home"))  # the session's first page view pushes its expiry back (a write)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert clinic.get(url).status_code == 200
        return len([q for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])

    few = count()
    for side in ("OD", "OS", "OD", "OS"):
        image = Image(order=order, laterality=side)
        image.file.save("x.jpg", ContentFile(b"x"), save=True)
    from orders.services.events import events_record, order_event

    events_record(organization=order.organization, events=[order_event("ImageReceipt", order) for _ in range(5)])
    assert count() == few <= MAX_QUERIES
    # Everything the page shows of the order is read with it: department and providers too.
    order.department = Department.objects.create(site=north, local_id="RET", name="Retina")
    order.ordering_provider = ProviderFactory()
    order.primary_care_provider = ProviderFactory()
    order.save()
    assert count() == few


@pytest.mark.parametrize("name,add,table_path", [
    ("orders:list", add_orders, "orders.tables.OrderTable"),
    ("patients:list", add_patients, "patients.tables.PatientTable"),
])
def test_every_column_shown_is_still_constant_in_page_size(client, org, org_admin, name, add, table_path):
    """With the column chooser's every column on: tables that fetch only what their shown
    columns read (``fetch_only_shown``) must name every field a column reads."""
    from django.utils.module_loading import import_string

    from iris_portal.tables import COLUMNS_SESSION_KEY

    table = import_string(table_path)
    org_admin.is_clinic_staff = True
    org_admin.save()
    client.force_login(org_admin)
    client.get(reverse("home"))
    session = client.session
    session[COLUMNS_SESSION_KEY] = {table.chooser_key(): list(table.base_columns)}
    session.save()

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(reverse(name))
        assert response.status_code == 200
        return len([q for q in captured.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))])

    add(org, 3)
    few = count()
    add(org, 30)
    assert count() == few <= MAX_QUERIES
