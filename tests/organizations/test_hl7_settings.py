"""HL7 interface settings pages (issue 4): organization admins and integration administrators
edit their organization's interface and site mappings in the portal, and the next ORM uses
them; other organizations' interfaces are 404, clinic users are refused, pages are audited."""
import pytest
from django.urls import reverse

from iris_portal.models import AuditEvent
from orders.models import Order
from organizations.models import HL7Interface, HL7SiteMapping
from tests.factories import OrganizationFactory, SiteFactory, UserFactory
from tests.orders.hl7_support import orm, running_listener, send_one

pytestmark = pytest.mark.django_db

LIST = reverse("organizations:hl7-interface-list")
ADD = reverse("organizations:hl7-interface-add")


@pytest.fixture
def org():
    organization = OrganizationFactory(name="Sunrise Eye Care")
    SiteFactory(organization=organization, local_id="NORTH", name="North Clinic", state="FL")
    SiteFactory(organization=organization, local_id="SOUTH", name="South Clinic", state="TX")
    return organization


@pytest.fixture
def other_org():
    organization = OrganizationFactory(name="Elsewhere Health")
    away = SiteFactory(organization=organization, local_id="AWAY", state="GA")
    interface = HL7Interface.objects.create(organization=organization, name="Their feed",
                                            sending_facilities=["ELSEWHERE"])
    HL7SiteMapping.objects.create(interface=interface, code="A1", site=away)
    return organization


@pytest.fixture
def admin(client, org):
    client.force_login(UserFactory(organization=org, is_org_admin=True, is_clinic_staff=False))
    return client


def form_data(*, mappings=(), initial=0, **fields) -> dict:
    data = {"name": "Epic ORM", "is_active": "on", "applications_text": "EPIC", "facilities_text": "SUNRISE",
            "mrn_source": "pid2", "mrn_identifier_type": "MR", "site_source": "pv1_3",
            "ordering_provider_id_type": "NPI", "map-TOTAL_FORMS": str(max(len(mappings), 1)),
            "map-INITIAL_FORMS": str(initial), "map-MIN_NUM_FORMS": "0", "map-MAX_NUM_FORMS": "1000"}
    for index, (code, site_pk) in enumerate(mappings):
        data[f"map-{index}-code"], data[f"map-{index}-site"] = code, str(site_pk)
    data.update(fields)
    return data


def test_admin_adds_an_interface_with_site_mappings(admin, org):
    north = org.sites.get(local_id="NORTH")
    response = admin.post(ADD, form_data(mappings=[("Clinic-7", north.pk)]))
    interface = HL7Interface.objects.get(organization=org)
    assert response.status_code == 302
    assert response.url == reverse("organizations:hl7-interface-detail", args=[interface.pk])
    assert (interface.sending_applications, interface.sending_facilities) == (["EPIC"], ["SUNRISE"])
    assert [(m.code, m.site) for m in interface.site_mappings.all()] == [("Clinic-7", north)]
    page = admin.get(response.url).content.decode()
    assert "Clinic-7" in page and "North Clinic" in page and "SUNRISE" in page
    assert "HL7 interfaces" in admin.get(LIST).content.decode()  # navigation entry and list
    assert set(AuditEvent.objects.filter(object_type="hl7_interface").values_list("action", flat=True)) == {
        "create", "view", "list"}


def test_edited_settings_are_used_by_the_next_inbound_orm(transactional_db, client, org):
    """Real MLLP over 127.0.0.1: the admin switches the MRN to PID-3 (type PI) and the site to
    ORC-13.1 with a mapping; the next ORM is read that way."""
    client.force_login(UserFactory(organization=org, is_org_admin=True, is_clinic_staff=False))
    south = org.sites.get(local_id="SOUTH")
    interface = HL7Interface.objects.create(organization=org, name="Epic", sending_applications=["EPIC"],
                                            sending_facilities=["SUNRISE"])
    message = orm(facility="SUNRISE", mrn="IGNORED-PID2", site="NOT-A-SITE").replace(
        "PID|1|IGNORED-PID2^^^^MR||", "PID|1|IGNORED-PID2^^^^MR|X9^^^^SS~PI-4711^^^^PI|").replace(
        "^^^^^^^^^^NPI", "^^^^^^^^^^NPI|ROOM-B")  # ORC-13

    with running_listener() as peer:
        assert send_one(peer.port, message.replace("MSG-1", "MSG-A")).code == "AE"  # NOT-A-SITE is no site
        response = client.post(reverse("organizations:hl7-interface-edit", args=[interface.pk]), form_data(
            applications_text="EPIC", mrn_source="pid3", mrn_identifier_type="pi", site_source="orc_13",
            mappings=[("room-b", south.pk)]))
        assert response.status_code == 302
        ack = send_one(peer.port, message.replace("MSG-1", "MSG-B"))

    assert ack.code == "AA"
    order = Order.objects.select_related("patient", "site").get(local_id="ORD-1")
    assert (order.patient.local_id, order.site, order.state) == ("PI-4711", south, "TX")
    interface.refresh_from_db()
    assert (interface.mrn_source, interface.mrn_identifier_type, interface.site_source) == ("pid3", "PI", "orc_13")


def test_another_organizations_interface_is_404(admin, other_org):
    theirs = other_org.hl7_interfaces.get()
    for name in ("hl7-interface-detail", "hl7-interface-edit", "hl7-interface-delete"):
        assert admin.get(reverse(f"organizations:{name}", args=[theirs.pk])).status_code == 404
    assert admin.post(reverse("organizations:hl7-interface-edit", args=[theirs.pk]),
                      form_data(facilities_text="HIJACK")).status_code == 404
    assert admin.post(reverse("organizations:hl7-interface-delete", args=[theirs.pk])).status_code == 404
    theirs.refresh_from_db()
    assert theirs.sending_facilities == ["ELSEWHERE"]
    assert "Their feed" not in admin.get(LIST).content.decode()


def test_sites_of_another_organization_cannot_be_mapped(admin, org, other_org):
    away = other_org.sites.get()
    response = admin.post(ADD, form_data(mappings=[("X", away.pk)]))
    assert response.status_code == 200 and "site" in response.context["form"].mappings.forms[0].errors
    assert not HL7Interface.objects.filter(organization=org).exists()


def test_a_sender_already_accepted_elsewhere_is_refused(admin, org, other_org):
    """Two interfaces accepting the same MSH-3/MSH-4 would send one organization's orders to the
    other; the other organization's interface is not named."""
    response = admin.post(ADD, form_data(applications_text="", facilities_text="elsewhere"))
    errors = response.context["form"].errors["facilities_text"]
    assert "already accepts" in errors[0] and "Their feed" not in errors[0]
    assert admin.post(ADD, form_data(facilities_text="ELSEWHERE", is_active="")).status_code == 302  # inactive: ok


def test_duplicate_codes_and_missing_facilities_are_refused(admin, org):
    north, south = org.sites.get(local_id="NORTH"), org.sites.get(local_id="SOUTH")
    response = admin.post(ADD, form_data(facilities_text=" \n", mappings=[("A", north.pk), ("a", south.pk)]))
    form = response.context["form"]
    assert "facilities_text" in form.errors and "This code is mapped twice." in form.mappings.forms[1].errors["code"]
    assert not HL7Interface.objects.exists()


def test_removing_a_mapping(admin, org):
    north = org.sites.get(local_id="NORTH")
    interface = HL7Interface.objects.create(organization=org, sending_facilities=["SUNRISE"])
    HL7SiteMapping.objects.create(interface=interface, code="N", site=north)
    data = form_data(mappings=[("N", north.pk)], initial=1)
    data["map-0-DELETE"] = "on"
    assert admin.post(reverse("organizations:hl7-interface-edit", args=[interface.pk]), data).status_code == 302
    assert not interface.site_mappings.exists()


def test_integration_admin_may_configure_but_clinic_users_may_not(client, org, other_org):
    interface = HL7Interface.objects.create(organization=org, sending_facilities=["SUNRISE"])
    client.force_login(UserFactory(organization=org, is_integration_admin=True, is_clinic_staff=False))
    assert client.get(LIST).status_code == 200
    assert client.get(reverse("organizations:hl7-interface-edit", args=[interface.pk])).status_code == 200

    client.force_login(UserFactory(organization=org))  # clinic staff
    assert client.get(LIST).status_code == 403
    assert client.get(ADD).status_code == 403
    assert client.post(ADD, form_data()).status_code == 403
    for name in ("hl7-interface-detail", "hl7-interface-edit"):
        assert client.get(reverse(f"organizations:{name}", args=[interface.pk])).status_code == 404
    assert "HL7 interfaces" not in client.get(reverse("home")).content.decode()


def test_delete(admin, org):
    interface = HL7Interface.objects.create(organization=org, sending_facilities=["SUNRISE"])
    assert admin.post(reverse("organizations:hl7-interface-delete", args=[interface.pk])).status_code == 302
    assert not HL7Interface.objects.exists()
    assert AuditEvent.objects.filter(object_type="hl7_interface", action="delete").exists()


# --- Django admin (platform staff) -----------------------------------------------------------------


def test_django_admin_refuses_overlapping_senders_and_foreign_sites(client, org, other_org):
    client.force_login(UserFactory(organization=org, is_staff=True, is_superuser=True))
    data = {"organization": str(org.pk), "name": "Feed", "sending_applications": "[]",
            "sending_facilities": '["ELSEWHERE"]', "mrn_source": "pid2", "mrn_identifier_type": "MR",
            "site_source": "pv1_3", "ordering_provider_id_type": "NPI", "is_active": "on",
            "site_mappings-TOTAL_FORMS": "1", "site_mappings-INITIAL_FORMS": "0",
            "site_mappings-MIN_NUM_FORMS": "0", "site_mappings-MAX_NUM_FORMS": "1000",
            "site_mappings-0-code": "X", "site_mappings-0-site": str(other_org.sites.get().pk)}
    response = client.post(reverse("admin:organizations_hl7interface_add"), data)
    assert response.status_code == 200
    assert "already accepts this MSH-3/MSH-4" in str(response.context["adminform"].form.non_field_errors())
    data["sending_facilities"] = '["SUNRISE"]'
    response = client.post(reverse("admin:organizations_hl7interface_add"), data)
    assert response.status_code == 200 and "Choose a site of the interface" in response.content.decode()
    data["site_mappings-0-site"] = str(org.sites.get(local_id="NORTH").pk)
    assert client.post(reverse("admin:organizations_hl7interface_add"), data).status_code == 302
    assert HL7Interface.objects.get(organization=org).site_mappings.get().code == "X"
