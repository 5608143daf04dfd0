"""The report template editor in a real browser (Playwright driving Debian's Chromium): the live
preview follows the typing, a bad placeholder shows its error instead of a preview, and saving
stores the site's template."""
import os

import pytest
from django.conf import settings as django_settings
from django.db import connections
from django.test import Client
from playwright.sync_api import expect

from delivery.models import ReportTemplate
from tests.factories import OrganizationFactory, SiteFactory, UserFactory


pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser(chromium):
    """The module's Chromium (tests/browser_support.py); the contexts a test opens are closed."""
    yield chromium
    for context in list(chromium.contexts):
        context.close()
    connections.close_all()  # the test body's connection lives in Playwright's greenlet


def signed_in_page(browser, live_server, user):
    """A page with the user's session (made by the test client: the sign-in page's second factor
    for organization admins is another issue's subject and has its own browser test)."""
    client = Client()
    client.force_login(user)
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    context.add_cookies([{"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}])
    page = context.new_page()
    page.set_default_timeout(15_000)
    return page


def test_live_preview_follows_the_template_and_save_stores_it(live_server, settings, browser):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    organization = OrganizationFactory(name="Bayside Clinics", evaluation_types=["DR"])
    site = SiteFactory(organization=organization, local_id="BAY1", name="Bayside North")
    admin = UserFactory(organization=organization, is_org_admin=True)
    page = signed_in_page(browser, live_server, admin)
    page.goto(f"{live_server.url}/delivery/templates/")
    page.click(f"a[href='/delivery/templates/DR/sites/{site.pk}/']")

    preview = page.frame_locator("#preview iframe")
    expect(preview.locator("text=Diabetic Retinopathy Screening").first).to_be_visible()  # the inherited default
    expect(preview.locator("text=Sample Patient").first).to_be_visible()
    if os.environ.get("IRIS_SCREENSHOTS"):
        page.screenshot(path=os.environ["IRIS_SCREENSHOTS"])

    editor = page.locator("textarea[name=html]")
    editor.fill("<h1>Bayside report for [[PATIENT_NAME]]</h1><p>[[CARE_PLAN]]</p>")
    expect(preview.locator("h1")).to_have_text("Bayside report for Sample Patient")

    editor.fill("<h1>[[PATIENT_NAM]]</h1>")
    expect(page.locator("[data-preview-errors]")).to_contain_text("did you mean [[PATIENT_NAME]]?")

    editor.fill("<h1>Saved for [[PATIENT_NAME]]</h1>")
    page.click("button[value=save]")
    expect(page.locator(".alert-success")).to_contain_text("Template saved")
    saved = ReportTemplate.objects.get(organization=organization, site=site, evaluation_type="DR")
    assert saved.html == "<h1>Saved for [[PATIENT_NAME]]</h1>" and saved.updated_by == admin
