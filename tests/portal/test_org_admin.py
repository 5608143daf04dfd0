"""Organization admin pages: sites, departments, cameras, users (invite by email with a
set-password link, roles, site limits, deactivate), the audit log. Admins of that organization
only; another organization's objects are 404."""
import re

import pytest
from django.core import mail
from django.urls import reverse

from iris_portal.models import AuditEvent
from organizations.models import Department, Device, Site, User
from tests.factories import OrderFactory, PatientFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_add_a_site_with_its_address(admin, org):
    response = admin.post(reverse("organizations:site-add"), {
        "local_id": "EAST", "name": "East Clinic", "street1": "1 Ocean Dr", "city": "Miami", "state": "FL",
        "postal_code": "33101", "is_active": "on"})
    site = Site.objects.get(local_id="EAST")
    assert response.status_code == 302 and response.url == reverse("organizations:site-detail", args=[site.pk])
    assert (site.organization, site.state, site.city) == (org, "FL", "Miami")
    assert AuditEvent.objects.filter(action="create", object_type="site", object_id=str(site.pk)).exists()


def test_site_needs_a_state_and_a_unique_id(admin, north):
    response = admin.post(reverse("organizations:site-add"), {"local_id": "NORTH", "name": "Again"})
    errors = response.context["form"].errors
    assert "state" in errors and "Another site of your organization has this id." in errors["local_id"]


def test_site_ids_may_repeat_across_organizations(admin, other_org):
    response = admin.post(reverse("organizations:site-add"), {"local_id": "AWAY", "name": "Our Away", "state": "GA"})
    assert response.status_code == 302


def test_edit_and_deactivate_a_site(admin, north):
    response = admin.post(reverse("organizations:site-edit", args=[north.pk]), {
        "local_id": "NORTH", "name": "North Clinic", "state": "GA", "city": "Atlanta"})
    assert response.status_code == 302
    north.refresh_from_db()
    assert (north.state, north.city, north.is_active) == ("GA", "Atlanta", False)


def test_departments_and_cameras(admin, north, other_org):
    assert admin.post(reverse("organizations:department-add"), {"site": north.pk, "local_id": "OPH",
                                                                 "name": "Ophthalmology"}).status_code == 302
    department = Department.objects.get(local_id="OPH")
    assert admin.post(reverse("organizations:device-add"), {"site": north.pk, "local_id": "CAM1",
                                                            "manufacturer": "Topcon", "model": "NW400"}).status_code == 302
    device = Device.objects.get(local_id="CAM1")
    page = admin.get(reverse("organizations:site-detail", args=[north.pk])).content.decode()
    assert "OPH" in page and "CAM1" in page
    # a site of another organization is not a choice
    response = admin.post(reverse("organizations:device-add"), {"site": other_org.sites.get().pk, "local_id": "X"})
    assert "site" in response.context["form"].errors
    assert admin.post(reverse("organizations:device-delete", args=[device.pk])).status_code == 302
    assert admin.post(reverse("organizations:department-delete", args=[department.pk])).status_code == 302
    assert not Device.objects.exists() and not Department.objects.exists()


def test_invite_a_user_by_email_with_a_set_password_link(admin, client, org, north, settings,
                                                         django_capture_on_commit_callbacks):
    settings.IRIS_PORTAL_URL = "http://testserver"
    with django_capture_on_commit_callbacks(execute=True):  # the email leaves once the user is committed
        response = admin.post(reverse("organizations:user-invite"), {
            "username": "newbie", "email": "newbie@example.org", "first_name": "New", "last_name": "Bie",
            "is_clinic_staff": "on", "sites": [north.pk]})
    user = User.objects.get(username="newbie")
    assert response.status_code == 302
    assert user.organization == org and user.is_clinic_staff and list(user.sites.all()) == [north]
    assert not user.has_usable_password()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["newbie@example.org"]
    body = mail.outbox[0].body
    link = re.search(r"http://testserver(/accounts/reset/\S+)", body).group(1)
    assert "Lovelace" not in body  # no PHI in emails (R13): just the link

    client.logout()
    form_page = client.get(link, follow=True)
    assert form_page.context["validlink"]
    done = client.post(form_page.redirect_chain[-1][0], {"new_password1": "a-long-pass-phrase-9",
                                                         "new_password2": "a-long-pass-phrase-9"})
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("a-long-pass-phrase-9")
    assert not client.get(link, follow=True).context["validlink"]  # the link works once


def test_invite_refuses_a_taken_username_and_a_pcp_without_npi(admin, clinic_user):
    response = admin.post(reverse("organizations:user-invite"), {
        "username": clinic_user.username, "email": "x@example.org", "is_pcp": "on"})
    errors = response.context["form"].errors
    assert "username" in errors and "pcp_npi" in errors
    response = admin.post(reverse("organizations:user-invite"), {"username": "noroles", "email": "x@example.org"})
    assert "at least one role" in str(response.context["form"].non_field_errors())


def test_edit_roles_and_site_limits_and_make_a_pcp(admin, clinic_user, south):
    response = admin.post(reverse("organizations:user-edit", args=[clinic_user.pk]), {
        "email": "c@example.org", "is_pcp": "on", "pcp_npi": "1234567890", "sites": [south.pk]})
    assert response.status_code == 302
    clinic_user.refresh_from_db()
    assert clinic_user.is_pcp and not clinic_user.is_clinic_staff and clinic_user.provider.npi == "1234567890"
    assert list(clinic_user.sites.all()) == [south]


def test_an_admin_cannot_remove_their_own_admin_role_or_deactivate_themselves(admin, org_admin):
    response = admin.post(reverse("organizations:user-edit", args=[org_admin.pk]), {
        "email": "b@example.org", "is_clinic_staff": "on"})
    assert "is_org_admin" in response.context["form"].errors
    response = admin.post(reverse("organizations:user-deactivate", args=[org_admin.pk]), follow=True)
    assert "cannot deactivate yourself" in response.content.decode()
    org_admin.refresh_from_db()
    assert org_admin.is_active and org_admin.is_org_admin


def test_deactivated_users_cannot_sign_in(admin, client, clinic_user):
    admin.post(reverse("organizations:user-deactivate", args=[clinic_user.pk]))
    clinic_user.refresh_from_db()
    assert not clinic_user.is_active
    client.logout()
    response = client.post(reverse("login"), {"username": clinic_user.username, "password": "test-password-123"})
    assert response.status_code == 200 and response.context["form"].errors
    admin.force_login(User.objects.get(username="boss"))
    admin.post(reverse("organizations:user-activate", args=[clinic_user.pk]))
    clinic_user.refresh_from_db()
    assert clinic_user.is_active


def test_reset_two_factor(admin, clinic_user):
    from django_otp.plugins.otp_totp.models import TOTPDevice

    TOTPDevice.objects.create(user=clinic_user, name="phone", confirmed=True)
    page = admin.get(reverse("organizations:user-detail", args=[clinic_user.pk]))
    assert page.context["has_two_factor"]
    admin.post(reverse("organizations:user-reset-two-factor", args=[clinic_user.pk]))
    assert not TOTPDevice.objects.filter(user=clinic_user).exists()


def test_audit_log_shows_only_the_organizations_events(admin, clinic, clinic_user, north, other_org, client):
    patient = PatientFactory(site=north)
    clinic.get(reverse("patients:detail", args=[patient.pk]))
    stranger = UserFactory(organization=other_org)
    client.force_login(stranger)
    client.get(reverse("patients:list"))
    admin.force_login(User.objects.get(username="boss"))
    page = admin.get(reverse("organizations:audit-log"), {"user": clinic_user.pk})
    events = [row.record for row in page.context["table"].paginated_rows]
    assert events and all(event.organization_id == north.organization_id for event in events)
    assert any(event.object_type == "patient" and event.object_id == str(patient.pk) for event in events)
    all_rows = admin.get(reverse("organizations:audit-log")).context["table"].paginated_rows
    assert stranger.pk not in {row.record.user_id for row in all_rows}
    export = admin.get(reverse("organizations:audit-log"), {"export": "csv"})
    assert b"patient" in b"".join(export.streaming_content)


@pytest.mark.parametrize("role", ["is_clinic_staff", "is_integration_admin", "is_pcp"])
def test_other_roles_are_refused(client, org, north, role):
    extra = {"provider": ProviderFactory()} if role == "is_pcp" else {}
    client.force_login(UserFactory(organization=org, **{"is_clinic_staff": False, role: True}, **extra))
    for name in ("site-list", "site-add", "department-list", "device-list", "user-list", "user-invite", "audit-log"):
        assert client.get(reverse(f"organizations:{name}")).status_code == 403, name
    assert client.get(reverse("organizations:site-detail", args=[north.pk])).status_code == 404


def test_another_organizations_objects_are_404(admin, other_org):
    away = other_org.sites.get()
    department = Department.objects.create(site=away, local_id="D")
    device = Device.objects.create(site=away, local_id="C")
    user = UserFactory(organization=other_org)
    for name, pk in [("site-detail", away.pk), ("site-edit", away.pk), ("department-edit", department.pk),
                     ("department-delete", department.pk), ("device-edit", device.pk), ("device-delete", device.pk),
                     ("user-detail", user.pk), ("user-edit", user.pk)]:
        assert admin.get(reverse(f"organizations:{name}", args=[pk])).status_code == 404, name
    for name in ("user-deactivate", "user-send-link", "user-reset-two-factor"):
        assert admin.post(reverse(f"organizations:{name}", args=[user.pk])).status_code == 404, name
    assert admin.post(reverse("organizations:device-delete", args=[device.pk])).status_code == 404
    user.refresh_from_db()
    assert user.is_active and Device.objects.filter(pk=device.pk).exists()
    assert not mail.outbox
    assert user.username not in admin.get(reverse("organizations:user-list")).content.decode()


def test_admin_lists_render(admin, north):
    OrderFactory(patient=PatientFactory(site=north))
    for name in ("site-list", "department-list", "device-list", "user-list", "audit-log"):
        assert admin.get(reverse(f"organizations:{name}")).status_code == 200, name
