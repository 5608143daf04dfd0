"""Patient pages: search, detail with order history, register, edit; scoping and audit."""
import datetime as dt

import pytest
from django.urls import reverse

from iris_portal.models import AuditEvent
from patients.models import Patient
from tests.factories import OrderFactory, OrganizationFactory, PatientFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def register(client, site, **overrides):
    data = {"site": site.pk, "local_id": "MRN-77", "first_name": "Grace", "last_name": "Hopper",
            "dob": "1936-12-09", "birth_gender": "F", "race": "2106-3", "phone": "555-0101", "dx_code": "E11",
            **overrides}
    return client.post(reverse("patients:add"), data)


def test_register_a_patient(clinic, north):
    response = register(clinic, north)
    patient = Patient.objects.get(local_id="MRN-77")
    assert response.status_code == 302 and response.url == reverse("patients:detail", args=[patient.pk])
    assert (patient.site, patient.first_name, patient.dob, patient.race) == (north, "Grace", dt.date(1936, 12, 9), "2106-3")
    assert patient.organization == north.organization
    assert AuditEvent.objects.filter(action="create", object_type="patient", object_id=str(patient.pk)).exists()


def test_duplicate_mrn_at_the_site_is_refused_with_a_clear_error(clinic, north, south):
    register(clinic, north)
    response = register(clinic, north, first_name="Other")
    assert response.status_code == 200
    assert "already registered at this site" in response.context["form"].errors["local_id"][0]
    assert Patient.objects.filter(local_id="MRN-77").count() == 1
    assert register(clinic, south).status_code == 302  # R3: unique per site only


def test_floating_patients_are_unique_across_the_organization(client):
    org = OrganizationFactory(patient_scope="organization")
    a, b = SiteFactory(organization=org), SiteFactory(organization=org)
    client.force_login(UserFactory(organization=org))
    assert register(client, a).status_code == 302
    response = register(client, b)
    assert "already registered in this organization" in response.context["form"].errors["local_id"][0]


def test_missing_fields_are_named(clinic, north):
    response = register(clinic, north, first_name="", dob="not a date")
    errors = response.context["form"].errors
    assert "first_name" in errors and "dob" in errors


def test_a_site_of_another_organization_cannot_be_chosen(clinic, other_org):
    response = register(clinic, other_org.sites.get())
    assert "site" in response.context["form"].errors
    assert not Patient.objects.exists()


def test_edit_changes_demographics_and_can_clear_a_field(clinic, north):
    patient = PatientFactory(site=north, phone="555-0000", email="jane@example.org")
    response = clinic.post(reverse("patients:edit", args=[patient.pk]), {
        "first_name": "Janet", "last_name": patient.last_name, "dob": "1960-01-02", "email": "", "phone": "555-1111",
        "dx_code": "E10", "local_id": "HACK", "site": ""})
    assert response.status_code == 302
    patient.refresh_from_db()
    assert (patient.first_name, patient.phone, patient.email, patient.dx_code) == ("Janet", "555-1111", "", "E10")
    assert patient.local_id.startswith("MRN") and patient.site == north  # identity is not editable
    assert AuditEvent.objects.filter(action="change", object_type="patient", object_id=str(patient.pk)).exists()


def test_search_by_mrn_or_name(clinic, north):
    PatientFactory(site=north, local_id="A100", last_name="Lovelace")
    PatientFactory(site=north, local_id="B200", last_name="Babbage")
    page = clinic.get(reverse("patients:list"), {"q": "love"}).content.decode()
    assert "Lovelace" in page and "Babbage" not in page
    page = clinic.get(reverse("patients:list"), {"q": "B2"}).content.decode()
    assert "Babbage" in page and "Lovelace" not in page
    assert AuditEvent.objects.filter(action="list", object_type="patient").exists()


def test_detail_shows_the_order_history_and_is_audited(clinic, north):
    patient = PatientFactory(site=north)
    OrderFactory(patient=patient, local_id="HIST-1", status="complete")
    OrderFactory(patient=patient, local_id="HIST-2", evaluation_types=["Glaucoma"])
    page = clinic.get(reverse("patients:detail", args=[patient.pk]))
    assert [o.local_id for o in page.context["orders"]] == ["HIST-2", "HIST-1"]
    assert f'?patient={patient.pk}' in page.content.decode()
    assert AuditEvent.objects.filter(action="view", object_type="patient", object_id=str(patient.pk)).count() == 1


def test_another_organizations_patient_is_404(clinic, other_org):
    theirs = PatientFactory(site=other_org.sites.get())
    assert clinic.get(reverse("patients:detail", args=[theirs.pk])).status_code == 404
    assert clinic.post(reverse("patients:edit", args=[theirs.pk]), {"first_name": "X"}).status_code == 404
    assert theirs.last_name not in clinic.get(reverse("patients:list")).content.decode()


def test_site_limited_staff_see_patients_of_their_sites_or_with_orders_there(client, org, north, south):
    user = UserFactory(organization=org)
    user.sites.add(north)
    at_north = PatientFactory(site=north, last_name="Northman")
    at_south = PatientFactory(site=south, last_name="Southman")
    ordered_north = PatientFactory(site=south, last_name="Traveller")
    OrderFactory(patient=ordered_north, site=north)
    client.force_login(user)
    page = client.get(reverse("patients:list")).content.decode()
    assert "Northman" in page and "Traveller" in page and "Southman" not in page
    assert client.get(reverse("patients:detail", args=[at_south.pk])).status_code == 404
    assert client.get(reverse("patients:detail", args=[at_north.pk])).status_code == 200
