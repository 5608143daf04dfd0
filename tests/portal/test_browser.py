"""In a real browser (Playwright driving Debian's Chromium): a clinic user registers a patient
and orders in one form and uploads the images; an organization admin turns on two-factor, adds
a site and invites a user; repeated bad passwords lock an account."""
import base64
import io

import pytest
from django.core import mail
from django_otp.oath import TOTP
from PIL import Image as PILImage
from playwright.sync_api import expect

from orders.models import Order, OrderStatus
from organizations.models import Site, User
from tests.browser_support import sign_in
from tests.factories import OrganizationFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def fundus_file(tmp_path, name, color):
    path = tmp_path / name
    buffer = io.BytesIO()
    PILImage.new("RGB", (320, 240), color).save(buffer, "JPEG")
    path.write_bytes(buffer.getvalue())
    return str(path)


def test_clinic_user_creates_patient_and_order_in_one_form_and_uploads_images(page, live_server, tmp_path):
    org = OrganizationFactory(name="Browser Eye Care")
    SiteFactory(organization=org, local_id="BRW", name="Browser Clinic", state="FL")
    user = UserFactory(organization=org, username="nurse")
    sign_in(page, live_server.url, user.username)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("button", name="Orders").click()  # a menu: Orders, Results to download
    page.get_by_role("link", name="Orders", exact=True).click()
    page.click("[data-add]")
    expect(page.get_by_role("heading", name="New patient and order")).to_be_visible()
    page.fill("#id_patient-local_id", "MRN-BR-1")
    page.fill("#id_patient-first_name", "Rosalind")
    page.fill("#id_patient-last_name", "Franklin")
    page.fill("#id_patient-dob", "1950-07-25")
    page.select_option("#id_patient-birth_gender", "F")
    page.fill("#id_order-local_id", "BR-ORDER-1")
    page.check("input[name='order-evaluation_types'][value='DR']")
    page.fill("#id_order-ordering_npi", "1234567893")
    page.click("[data-order-form] button[type=submit]")

    expect(page.locator("[data-order-status]")).to_have_text("Awaiting images")
    expect(page.locator("[data-timeline] [data-event='OrderCreationReceipt']")).to_be_visible()
    order = Order.objects.get(local_id="BR-ORDER-1")
    assert order.patient.last_name == "Franklin" and order.source == "web"

    page.set_input_files("[data-file-input]", [fundus_file(tmp_path, "right_OD.jpg", (200, 80, 40)),
                                               fundus_file(tmp_path, "left_OS.jpg", (190, 70, 50))])
    page.click("[data-iris-upload] button[type=submit]")
    expect(page.locator("[data-file-table] [data-status]").nth(1)).to_have_text("attached")
    page.reload()
    expect(page.locator("[data-image-count]")).to_have_text("2")
    expect(page.locator("[data-order-status]")).to_have_text("Ready for grading")
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING


def test_org_admin_enrols_two_factor_adds_a_site_and_invites_a_user(page, live_server, settings):
    settings.IRIS_PORTAL_URL = live_server.url
    org = OrganizationFactory(name="Admin Eye Care")
    SiteFactory(organization=org, local_id="HQ", name="Headquarters", state="FL")
    admin = UserFactory(organization=org, username="chief", is_org_admin=True)
    sign_in(page, live_server.url, admin.username)

    expect(page.get_by_role("heading", name="Set up two-factor authentication")).to_be_visible()
    expect(page.locator("[data-totp-qr]")).to_be_visible()
    secret = page.locator("[data-totp-secret]").inner_text()
    key = base64.b32decode(secret + "=" * (-len(secret) % 8))
    page.fill("#id_token", f"{TOTP(key).token():06d}")
    page.click("button:has-text('Turn on two-factor')")
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()

    page.get_by_role("button", name="Organization").click()
    page.get_by_role("link", name="Sites").click()
    page.click("[data-add]")
    page.fill("#id_local_id", "BEACH")
    page.fill("#id_name", "Beach Clinic")
    page.fill("#id_street1", "9 Shore Road")
    page.fill("#id_city", "Tampa")
    page.select_option("#id_state", "FL")
    page.click("[data-edit-form] button[type=submit]")
    expect(page.locator("[data-site-address]")).to_contain_text("9 Shore Road")
    site = Site.objects.get(organization=org, local_id="BEACH")

    page.get_by_role("button", name="Organization").click()
    page.get_by_role("link", name="Users").click()
    page.click("[data-add]")
    page.fill("#id_username", "newnurse")
    page.fill("#id_email", "newnurse@example.org")
    page.fill("#id_first_name", "New")
    page.check("#id_is_clinic_staff")
    page.get_by_label("Beach Clinic (BEACH)").check()
    page.click("[data-edit-form] button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("newnurse")
    invited = User.objects.get(username="newnurse")
    assert invited.organization == org and list(invited.sites.all()) == [site] and not invited.has_usable_password()
    assert any("newnurse@example.org" in message.to for message in mail.outbox)


def test_repeated_bad_passwords_lock_the_account(page, live_server, settings):
    user = UserFactory(username="forgetful")
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(page, live_server.url, user.username, "not-my-password")
        expect(page.locator(".alert-danger")).to_contain_text("didn't match")
    sign_in(page, live_server.url, user.username, "not-my-password")
    expect(page.locator("[data-lockout]")).to_contain_text("Too many failed sign-ins")
    sign_in(page, live_server.url, user.username)  # the right password, too late
    expect(page.locator("[data-lockout]")).to_be_visible()
