"""In a real browser (Playwright driving Debian's Chromium): an integration administrator
uploads a file, watches the progress bar move while a worker imports it chunk by chunk (htmx
polling, no reload), then reads the row errors and downloads the error report."""
import csv
import io

import pytest
from django.db import connections
from playwright.sync_api import expect

from orders.intake.csv.job import import_job_steps
from orders.models import ImportJob, Order
from tests.factories import PASSWORD, UserFactory

from .import_support import celery_queue, csv_bytes, row


pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def browser_page(chromium):
    """A page in its own context of the module's Chromium (tests/browser_support.py)."""
    page = chromium.new_page(accept_downloads=True)
    page.set_default_timeout(15_000)
    yield page
    page.context.close()
    connections.close_all()  # the test body ran in Playwright's greenlet, with its own connection


def test_upload_shows_live_progress_then_the_errors_and_the_report(live_server, settings, demo, browser_page):
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = False
    settings.IRIS_IMPORT_CHUNK_ROWS = 2
    admin = UserFactory(organization=demo, username="integrator", is_clinic_staff=False, is_integration_admin=True)
    data = csv_bytes([row("A", "M1"), row("B", "M2", dob="31/12/1960"), row("C", "M3"),
                      row("D", "M4", site="NOPE"), row("E", "M5")])
    page = browser_page
    with celery_queue() as take:  # the task goes to the broker; this test is the worker
        page.goto(f"{live_server.url}/accounts/login/?next=/orders/imports/")
        page.fill("input[name=username]", admin.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit], input[type=submit]")
        page.set_input_files("[data-import-upload] input[type=file]",
                             files=[{"name": "orders.csv", "mimeType": "text/csv", "buffer": data}])
        page.click("[data-import-upload] button[type=submit]")

        progress = page.locator("#import-progress")
        expect(progress).to_have_attribute("data-status", "queued")
        expect(page.locator("[data-progress-text]")).to_have_text("waiting for a worker")
        job = ImportJob.objects.get()
        assert take(1) == [("orders.tasks.import_job_run", [job.pk])]
    url = page.url
    steps = import_job_steps(job.pk)

    def work_between_polls():
        """Run one step of the import right after a poll answered (the next is a second away),
        so the page and the worker never use the test database at the same moment."""
        with page.expect_response(lambda response: "/progress/" in response.url):
            pass
        next(steps)

    work_between_polls()  # header read, rows counted
    expect(page.locator("[data-progress-text]")).to_have_text("0 / 5 rows")
    work_between_polls()  # rows 2-3
    expect(page.locator("[data-progress-text]")).to_have_text("2 / 5 rows")
    expect(page.locator("[data-failed]")).to_have_text("1")
    expect(page.locator("#import-progress .progress-bar")).to_have_attribute("style", "width: 40%")
    for _ in steps:  # the rest, and the end
        pass

    expect(progress).to_have_attribute("data-status", "done")
    assert page.url == url  # updated in place, never reloaded
    expect(page.locator("[data-created]")).to_contain_text("3 new orders")
    expect(page.locator("[data-failed-total]")).to_contain_text("2 rows")
    errors = page.locator("[data-errors] tbody tr")
    expect(errors).to_have_count(2)
    expect(errors.nth(0)).to_contain_text("PatientDob")
    expect(errors.nth(1)).to_contain_text("unknown site 'NOPE'")
    assert progress.get_attribute("hx-trigger") is None  # polling stopped

    with page.expect_download() as download:
        page.click("[data-error-report]")
    report = download.value
    assert report.suggested_filename == "orders.errors.csv"
    lines = list(csv.reader(io.StringIO(open(report.path(), encoding="utf-8-sig").read())))
    assert [line[-3:-1] for line in lines[1:]] == [["3", "PatientDob"], ["5", "SiteLocalId"]]
    assert lines[1][:8] == row("B", "M2", dob="31/12/1960")
    assert set(Order.objects.values_list("local_id", flat=True)) == {"A", "C", "E"}

    page.click("nav[aria-label=breadcrumb] a[href='/orders/imports/']")
    expect(page.locator(f'[data-import="{job.pk}"]')).to_contain_text("orders.csv")
