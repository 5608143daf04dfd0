"""In a real browser (Playwright driving Debian's Chromium): an integration administrator finds
the HL7 interface settings in the navigation, adds an interface with a site mapping, and sees it."""
import os

import pytest
from playwright.sync_api import expect

from organizations.models import HL7Interface
from tests.browser_support import sign_in
from tests.factories import OrganizationFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_integration_admin_adds_an_hl7_interface(page, live_server):
    org = OrganizationFactory(name="Browser Eye Care")
    SiteFactory(organization=org, local_id="BRW", name="Browser Clinic", state="FL")
    UserFactory(organization=org, username="integrator", is_clinic_staff=False, is_integration_admin=True)

    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, live_server.url, "integrator")
    page.get_by_role("button", name="Integrations").click()
    page.get_by_role("navigation", name="Main").get_by_role("link", name="HL7 interfaces").click()
    expect(page.get_by_role("heading", name="HL7 interfaces")).to_be_visible()
    page.click("[data-add]")

    page.fill("input[name=name]", "Epic ORM")
    page.fill("textarea[name=applications_text]", "EPIC")
    page.fill("textarea[name=facilities_text]", "BROWSER HOSPITAL")
    page.select_option("select[name=site_source]", "orc_13")
    page.fill("input[name='map-0-code']", "DEPT-9")
    page.select_option("select[name='map-0-site']", label="Browser Clinic (BRW)")
    if os.environ.get("HL7_SCREENSHOT"):  # a path: keep a picture of the filled-in form
        page.screenshot(path=os.environ["HL7_SCREENSHOT"], full_page=True)
    page.click("[data-edit-form] button[type=submit]")

    expect(page.get_by_role("heading", name="Epic ORM")).to_be_visible()
    expect(page.locator("[data-hl7-mappings]")).to_contain_text("DEPT-9")
    interface = HL7Interface.objects.get(organization=org)
    assert (interface.sending_facilities, interface.site_source) == (["BROWSER HOSPITAL"], "orc_13")
