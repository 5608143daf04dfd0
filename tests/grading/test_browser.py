"""In a real browser (Playwright driving Debian's Chromium): a grader signs in, claims an order
from the queue, looks at both eyes, grades them and sees the order complete."""
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from PIL import Image as PILImage
from playwright.sync_api import expect

from grading.models import Grading
from orders.models import OrderStatus
from orders.services.images import image_attach
from tests.factories import PASSWORD, OrderFactory, PatientFactory, SiteFactory

from .conftest import make_grader


pytestmark = pytest.mark.django_db(transaction=True)


def fundus(color) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    PILImage.new("RGB", (320, 240), color).save(buffer, "JPEG")
    return SimpleUploadedFile("eye.jpg", buffer.getvalue())


@pytest.fixture
def browser_page(chromium):
    """A page in its own context of the module's Chromium (tests/browser_support.py)."""
    page = chromium.new_page()
    page.set_default_timeout(15_000)
    yield page
    page.context.close()
    connections.close_all()  # the test body's connection lives in Playwright's greenlet


def test_grader_claims_grades_both_eyes_and_sees_the_order_complete(live_server, settings, care_plans, host,
                                                                      browser_page):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    grader = make_grader(host, "FL", username="reader")
    order = OrderFactory(patient=PatientFactory(site=SiteFactory(state="FL")), local_id="BROWSER-1")
    image_attach(order=order, file=fundus((200, 80, 40)), laterality="OD")
    image_attach(order=order, file=fundus((190, 70, 50)), laterality="OS")
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_GRADING

    page = browser_page
    page.goto(f"{live_server.url}/accounts/login/?next=/grading/")
    page.fill("input[name=username]", grader.username)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    row = page.locator('[data-order="BROWSER-1"]')
    expect(row).to_be_visible()
    row.get_by_role("button", name="Claim").click()

    expect(page.locator("[data-order-status]")).to_have_text("In grading")
    for side in ("OD", "OS"):  # both images loaded side by side
        image = page.locator(f'[data-eye-viewer="{side}"] img').first
        expect(image).to_be_visible()
        assert image.evaluate("img => img.complete && img.naturalWidth") == 320
    page.locator('[data-control="zoom"]').fill("2")
    page.locator('[data-control="brightness"]').fill("1.5")
    assert "scale(2)" in page.locator('[data-eye-viewer="OS"] img').first.get_attribute("style")
    assert "brightness(1.5)" in page.locator('[data-eye-viewer="OD"] img').first.get_attribute("style")

    page.get_by_role("radiogroup", name="OD Diabetic Retinopathy").get_by_label("None").check()
    page.get_by_role("radiogroup", name="OD Macular Edema").get_by_label("None").check()
    page.get_by_role("radiogroup", name="OS Diabetic Retinopathy").get_by_label("Moderate").check()
    page.get_by_role("radiogroup", name="OS Macular Edema").get_by_label("None").check()
    page.fill("#notes", "Graded in the browser test")
    page.click("[data-submit-grading]")

    expect(page.locator("[data-order-status]")).to_have_text("Complete")
    expect(page.locator("[data-grading-summary]")).to_contain_text("E113392")
    order.refresh_from_db()
    grading = Grading.objects.get(order=order)
    assert order.status == OrderStatus.COMPLETE and grading.grader == grader
    assert grading.care_plan.key == "refer-routine"
