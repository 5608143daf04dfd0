"""Reports in a real browser (Playwright driving Debian's Chromium): a PCP sees only the reports
that name them, and another report's address is a 404; a clinic user opens a graded order and
downloads its PDF report. The grading and the results are made by their services (grading_submit,
result_generate), as in production."""
import io

import pytest
from django.urls import reverse
from playwright.sync_api import expect
from pypdf import PdfReader

from delivery.results.services import result_generate
from iris_portal.models import AuditEvent
from tests.browser_support import sign_in
from tests.delivery.factories import graded_order
from tests.factories import OrganizationFactory, PatientFactory, ProviderFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def report(*, first_name: str, last_name: str, site=None, **order_fields):
    """A final report (result set with its PDF) of a graded order of this patient."""
    site = site or SiteFactory(state="FL")
    patient = PatientFactory(site=site, first_name=first_name, last_name=last_name)
    result_set = result_generate(grading_id=graded_order(patient=patient, **order_fields).pk)
    assert result_set.documents.filter(kind="pdf").exists()
    return result_set


def test_pcp_sees_only_their_report(page, live_server):
    clinic = SiteFactory(state="FL", organization=OrganizationFactory(name="Sunrise Eye Care"))
    pcp = UserFactory(organization=OrganizationFactory(name="Family Practice"), username="dr-paula",
                      is_clinic_staff=False, is_pcp=True,
                      provider=ProviderFactory(first_name="Paula", last_name="Care"))
    colleague = ProviderFactory(first_name="Other", last_name="Doctor")
    mine = report(first_name="Maria", last_name="Lopez", site=clinic, ordering_provider=pcp.provider)
    another_pcps = report(first_name="Oscar", last_name="Nguyen", site=clinic, ordering_provider=colleague)
    another_orgs = report(first_name="Greta", last_name="Stranger", ordering_provider=colleague,
                          site=SiteFactory(state="FL", organization=OrganizationFactory(name="Elsewhere Health")))

    sign_in(page, live_server.url, pcp.username)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="My reports").click()
    expect(page.get_by_role("heading", name="My reports")).to_be_visible()
    rows = page.locator("[data-reports] tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator(f"[data-result-set='{mine.pk}']")).to_contain_text("Lopez, Maria")
    expect(page.locator(f"[data-result-set='{mine.pk}']")).to_contain_text("Sunrise Eye Care")
    body = page.locator("[data-reports]")
    expect(body).not_to_contain_text("Nguyen")
    expect(body).not_to_contain_text("Stranger")

    own_pdf = reverse("delivery:my-report-pdf", args=[mine.pk])
    with page.expect_response(lambda response: response.url.endswith(own_pdf)) as own:
        page.locator(f"[data-result-set='{mine.pk}'] a", has_text="PDF").click()
    assert own.value.status == 200 and own.value.headers["content-type"] == "application/pdf"
    for other in (another_pcps, another_orgs):
        for path in (reverse("delivery:my-report-pdf", args=[other.pk]),
                     reverse("delivery:result-document", args=[other.pk, "pdf"])):
            response = page.goto(f"{live_server.url}{path}")
            assert response.status == 404, path


def test_clinic_user_downloads_the_pdf_from_the_order_page(page, live_server):
    site = SiteFactory(state="FL", name="Tampa Eye Clinic", organization=OrganizationFactory(name="Gulf Eye Care"))
    nurse = UserFactory(organization=site.organization, username="nurse-gulf")
    result_set = report(first_name="Rosalind", last_name="Franklin", site=site, local_id="GULF-1")

    sign_in(page, live_server.url, nurse.username)
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible()
    page.get_by_role("button", name="Orders").click()  # a menu: Orders, Results to download
    page.get_by_role("link", name="Orders", exact=True).click()
    page.fill("#id_q", "GULF-1")
    page.click("[data-filters] button[type=submit]")
    page.get_by_role("link", name="GULF-1").click()
    expect(page.locator("[data-order-status]")).to_have_text("Complete")
    link = page.locator("[data-results] [data-result-pdf]")
    pdf_path = reverse("delivery:result-document", args=[result_set.pk, "pdf"])
    expect(link).to_be_visible()

    # The link opens the PDF inline in a new tab (Chromium's viewer); Alt+click saves the link's
    # target instead, as a user keeping a copy would: the file is what the server sent.
    with page.expect_download() as saved:
        link.click(modifiers=["Alt"])
    download = saved.value
    assert download.url.endswith(pdf_path)
    with open(download.path(), "rb") as handle:
        content = handle.read()
    assert content.startswith(b"%PDF")
    text = "".join(pdf_page.extract_text() for pdf_page in PdfReader(io.BytesIO(content)).pages)
    assert "Franklin" in text and "Rosalind" in text
    assert AuditEvent.objects.filter(user=nurse, action="download", object_type="result_document").exists()
