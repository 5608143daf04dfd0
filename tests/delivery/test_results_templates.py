"""Report templates: every documented token, validation (unknown tokens, unsafe HTML), the
renderer's URL fetcher, inheritance (default -> organization -> site), report settings, and the
editor pages of organization admins (cross-organization 404s)."""
import http.server
import io
import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pypdf import PdfReader

from delivery.models import ReportSettings, ReportTemplate
from delivery.results.pdf import RefusedURL, ReportURLFetcher, html_to_pdf
from delivery.results.report import report_html, report_settings_resolve
from delivery.results.sample import sample_report
from delivery.results.services import result_generate
from delivery.results.template_services import report_settings_save, report_template_save
from delivery.results.templates import builtin_template, report_template_resolve
from delivery.results.validation import report_template_errors
from delivery.results.tokens import DOCUMENTED_TOKENS, TOKENS
from iris_portal.models import AuditEvent
from orders.reference import ALL_EVALUATION_TYPE_CODES
from tests.factories import OrganizationFactory, SiteFactory, UserFactory

from .factories import graded_order

# The placeholders of IRIS integration/Results/ReportTemplate.md, in the order it lists them.
REPORT_TEMPLATE_MD_TOKENS = [
    "PATIENT_NAME", "PATIENT_AGE", "PATIENT_GENDER", "PATIENT_DOB", "PATIENT_MRN", "PATIENT_LOCAL_ID", "PATIENT_PHONE",
    "HEALTHPLAN_MEMBERID", "HEALTHPLAN_POLICYNUMBER", "HEALTHPLAN_GROUPNUMBER", "HEALTHPLAN_GROUPNAME",
    "HEALTHPLAN_INSURANCE_COMPANY_LOCALID", "HEALTHPLAN_INSURANCE_PLAN_ID", "HEALTHPLAN_INSURANCE_PLAN_NAME",
    "CLINIC_NAME", "ORDER_DATE", "ORDER_SCHEDULED_DATE", "GRADER_SIGNATURE", "CARE_PLAN", "RIGHT_EYE_FINDINGS",
    "LEFT_EYE_FINDINGS", "LEFT_EYE_ORIGINAL_IMAGE", "RIGHT_EYE_ORIGINAL_IMAGE", "ORDERING_PROVIDER_NAME",
    "REFERRING_PROVIDER_NAME", "ENCOUNTER_NUMBER", "ORDER_LOCAL_ID", "PATIENT_ORDER_INFO", "ORDERABLE_IDENTIFIER",
    "DEPARTMENT_LOCAL_ID", "DISCLAIMER",
]
EVERY_TOKEN = "\n".join(f"<p>[[{name}]]</p>" for name in TOKENS)


def test_every_documented_token_exists_and_renders():
    assert DOCUMENTED_TOKENS == REPORT_TEMPLATE_MD_TOKENS
    assert report_template_errors(EVERY_TOKEN) == []
    html = report_html(sample_report("DR", disclaimer="Screening only."), EVERY_TOKEN, embed_images=True)
    assert "[[" not in html
    for text in ("Sample Patient", "MRN-SAMPLE", "04/12/1960", "Female", "Return in 6 months", "Screening only.",
                 "Pat Primary, MD", "Sample Health Plan", "M-0001", "E11.3291", "data:image/jpeg;base64,"):
        assert text in html, text


def test_default_template_of_every_evaluation_type_is_valid():
    for code in ALL_EVALUATION_TYPE_CODES:
        assert report_template_errors(builtin_template(code)) == [], code


def test_values_are_escaped():
    report = sample_report("DR")
    report.order_result["Patient"]["Name"]["First"] = "<script>alert(1)</script>"
    html = report_html(report, "<p>[[PATIENT_NAME]]</p>", embed_images=True)
    assert "<script>" not in html and "&lt;script&gt;" in html


@pytest.mark.parametrize("template, message", [
    ("<p>[[PATIENT_NAM]]</p>", "line 1: unknown placeholder [[PATIENT_NAM]]; did you mean [[PATIENT_NAME]]?"),
    ("<p>ok</p>\n<p>[[patient_name]]</p>",
     "line 2: unknown placeholder [[patient_name]]; did you mean [[PATIENT_NAME]]?"),
    ("<p>[[ PATIENT_NAME ]]</p>", "unknown placeholder [[ PATIENT_NAME ]]"),
    ("<p>[[PATIENT_NAME]</p>", "placeholder brackets '[[' are not closed"),
    ("<p>x</p><script>alert(1)</script>", "<script> is not allowed"),
    ('<p onclick="alert(1)">x</p>', "event handler attribute onclick="),
    ('<img src="https://evil.example/pixel.png">', "src= on <img> must be an embedded image"),
    ('<img src="file:///etc/passwd">', "src= on <img> must be an embedded image"),
    ('<a href="javascript:alert(1)">x</a>', "script URLs are not allowed"),
    ('<div style="background: url(http://evil.example/x.png)">x</div>',
     "url(http://evil.example/x.png) is not allowed"),
    ("<style>@import 'https://evil.example/a.css';</style>", "@import is not allowed"),
    ('<link rel="stylesheet" href="https://evil.example/a.css">', "<link> is not allowed"),
    ('<iframe src="https://evil.example"></iframe>', "<iframe> is not allowed"),
    ('<svg><image href="https://evil.example/x.png"/></svg>', "href= on <image> must be an embedded image"),
    ('<meta http-equiv="refresh" content="0;url=https://evil.example">', "<meta http-equiv> is not allowed"),
])
def test_validation_refuses(template, message):
    errors = report_template_errors(template)
    assert any(message in error for error in errors), errors


def test_validation_accepts_embedded_images_and_links():
    assert report_template_errors(
        '<style>.a { background: url("data:image/png;base64,iVBORw0KGgo=") }</style>'
        '<img src="data:image/png;base64,iVBORw0KGgo="><a href="https://www.example.org/help">help</a>'
        '<p style="color: red">[[PATIENT_NAME]]</p>') == []


class _Counter(http.server.BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self):  # noqa: N802 - http.server API
        self.hits.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_renderer_fetches_nothing_remote_or_outside_storage(tmp_path, settings):
    """Even HTML that skipped validation cannot make the renderer call out or read host files."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Counter)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        secret = tmp_path / "secret.png"
        Image.new("RGB", (4, 4)).save(secret)
        pdf = html_to_pdf(f'<html><head><link rel="stylesheet" href="{url}/a.css"></head><body>'
                          f'<img src="{url}/b.png"><img src="{secret.as_uri()}"><p>x</p></body></html>')
        assert pdf.startswith(b"%PDF") and _Counter.hits == []
    finally:
        server.shutdown()
    fetcher = ReportURLFetcher()
    with pytest.raises(RefusedURL):
        fetcher.fetch(secret.as_uri())
    with pytest.raises(RefusedURL):
        fetcher.fetch("https://example.org/x.png")
    inside = settings.MEDIA_ROOT / "ok.png"
    Image.new("RGB", (4, 4)).save(inside)
    assert fetcher.fetch(inside.as_uri()).read().startswith(b"\x89PNG")


# ---------------------------------------------------------------------------------------------
# Inheritance and settings


@pytest.mark.django_db
def test_inheritance_site_over_organization_over_default():
    site = SiteFactory()
    organization, other_site = site.organization, SiteFactory(organization=site.organization)
    resolved = report_template_resolve(organization=organization, site=site, evaluation_type="DR")
    assert resolved.source == "builtin:DR" and resolved.html == builtin_template("DR")
    host = ReportTemplate.objects.create(evaluation_type="DR", html="<p>host [[PATIENT_NAME]]</p>")
    def source(at_site):
        return report_template_resolve(organization=organization, site=at_site, evaluation_type="DR").source

    assert source(site) == f"host:{host.pk}"
    org_row = report_template_save(organization=organization, site=None, evaluation_type="DR", html="<p>o</p>", by=None)
    site_row = report_template_save(organization=organization, site=site, evaluation_type="DR", html="<p>s</p>", by=None)
    assert source(site) == f"site:{site_row.pk}"
    assert source(other_site) == f"organization:{org_row.pk}"
    assert report_template_resolve(organization=organization, site=site, evaluation_type="AMD").source == "builtin:AMD"
    # Another organization sees none of it.
    stranger = SiteFactory()
    assert report_template_resolve(organization=stranger.organization, site=stranger,
                                   evaluation_type="DR").source == f"host:{host.pk}"


@pytest.mark.django_db
def test_generated_pdf_uses_the_site_template_and_a4_with_logo():
    grading = graded_order(local_id="ORD-A4")
    order = grading.order
    report_template_save(organization=order.organization, site=order.site, evaluation_type="DR", by=None,
                         html="<html><body>[[ORGANIZATION_LOGO]]<h1>Site report for [[PATIENT_NAME]]</h1>"
                              "[[RIGHT_EYE_FINDINGS]]</body></html>")
    logo = io.BytesIO()
    Image.new("RGB", (120, 40), (20, 80, 160)).save(logo, "PNG")
    report_settings_save(organization=order.organization, site=None, paper_size="a4", disclaimer="", clear_logo=False,
                         logo=SimpleUploadedFile("logo.png", logo.getvalue(), "image/png"), by=None)
    result_set = result_generate(grading_id=grading.pk)
    assert result_set.template_source.startswith("site:")
    with result_set.document("pdf").file.open("rb") as handle:
        reader = PdfReader(handle)
        page = reader.pages[0]
        assert (round(page.mediabox.width), round(page.mediabox.height)) == (595, 842)
        assert "Site report for Maria Lopez" in page.extract_text()
        assert len(page.images) == 1  # the logo
    effective = report_settings_resolve(organization=order.organization, site=order.site)
    assert effective.paper_size == "a4" and effective.logo is not None


@pytest.mark.django_db
def test_site_settings_override_organization_settings_field_by_field():
    site = SiteFactory()
    report_settings_save(organization=site.organization, site=None, paper_size="a4", disclaimer="Org text.",
                         logo=None, clear_logo=False, by=None)
    report_settings_save(organization=site.organization, site=site, paper_size="", disclaimer="Site text.",
                         logo=None, clear_logo=False, by=None)
    effective = report_settings_resolve(organization=site.organization, site=site)
    assert (effective.paper_size, effective.disclaimer) == ("a4", "Site text.")


@pytest.mark.django_db
def test_logo_must_be_a_small_png_or_jpeg():
    from django.core.exceptions import ValidationError

    site = SiteFactory()
    with pytest.raises(ValidationError, match="not a readable PNG or JPEG"):
        report_settings_save(organization=site.organization, site=None, paper_size="", disclaimer="", clear_logo=False,
                             logo=SimpleUploadedFile("logo.png", b"<svg onload=alert(1)>", "image/png"), by=None)
    assert not ReportSettings.objects.exists()


# ---------------------------------------------------------------------------------------------
# Editor pages


@pytest.fixture
def admin_client(client, db):
    organization = OrganizationFactory(evaluation_types=["DR", "AMD"])
    site = SiteFactory(organization=organization, local_id="S1")
    user = UserFactory(organization=organization, is_org_admin=True)
    client.force_login(user)
    client.site, client.organization = site, organization
    return client


def test_editor_lists_edits_and_previews(admin_client):
    response = admin_client.get(reverse("delivery:templates"))
    assert response.status_code == 200
    assert b'data-type="DR"' in response.content and b'data-type="AMD"' in response.content
    assert b'data-type="SP"' not in response.content  # not subscribed
    edit = reverse("delivery:template-edit-site", args=["DR", admin_client.site.pk])
    page = admin_client.get(edit)
    assert page.status_code == 200 and b"[[RIGHT_EYE_FINDINGS]]" in page.content  # the inherited default
    bad = admin_client.post(edit, {"html": "<p>[[NOPE]]</p><script>x</script>", "action": "save"})
    assert bad.status_code == 200 and b"unknown placeholder [[NOPE]]" in bad.content
    assert not ReportTemplate.objects.exists()
    good = admin_client.post(edit, {"html": "<h1>Ours: [[PATIENT_NAME]]</h1>", "action": "save"})
    assert good.status_code == 302
    row = ReportTemplate.objects.get()
    assert (row.site, row.organization, row.evaluation_type) == (admin_client.site, admin_client.organization, "DR")
    preview_url = reverse("delivery:template-preview-site", args=["DR", admin_client.site.pk])
    preview = admin_client.post(preview_url, {"html": "<h1>Preview of [[PATIENT_NAME]]</h1>"})
    assert preview.status_code == 200 and b"srcdoc=" in preview.content and b"Sample Patient" in preview.content
    assert b'sandbox=""' in preview.content
    invalid = admin_client.post(preview_url, {"html": "<p>[[NOPE]]</p>"})
    assert b"data-preview-errors" in invalid.content
    pdf = admin_client.post(preview_url, {"html": "<h1>PDF of [[PATIENT_NAME]]</h1>", "format": "pdf"})
    assert pdf["Content-Type"] == "application/pdf"
    assert "PDF of Sample Patient" in PdfReader(io.BytesIO(pdf.content)).pages[0].extract_text()
    reset = admin_client.post(edit, {"action": "reset"})
    assert reset.status_code == 302 and not ReportTemplate.objects.exists()
    assert AuditEvent.objects.filter(object_type="report_template", action="change").exists()


def test_report_settings_page(admin_client):
    logo = io.BytesIO()
    Image.new("RGB", (60, 20)).save(logo, "JPEG")
    url = reverse("delivery:report-settings")
    response = admin_client.post(url, {"paper_size": "a4", "disclaimer": "Ours.",
                                       "logo": SimpleUploadedFile("l.jpg", logo.getvalue(), "image/jpeg")})
    assert response.status_code == 302
    row = ReportSettings.objects.get(organization=admin_client.organization, site=None)
    assert row.paper_size == "a4" and row.logo.name.endswith(".jpg")
    bad = admin_client.post(url, {"paper_size": "", "disclaimer": "",
                                  "logo": SimpleUploadedFile("l.png", b"not an image", "image/png")})
    assert bad.status_code == 200 and b"not a readable PNG or JPEG" in bad.content


def test_editor_is_for_organization_admins_only(client, db):
    site = SiteFactory()
    client.force_login(UserFactory(organization=site.organization, is_org_admin=False))
    for url in (reverse("delivery:templates"), reverse("delivery:template-edit", args=["DR"]),
                reverse("delivery:report-settings")):
        assert client.get(url).status_code == 404


def test_another_organizations_site_is_404(admin_client):
    stranger = SiteFactory()
    for name, args in (("delivery:template-edit-site", ["DR", stranger.pk]),
                       ("delivery:report-settings-site", [stranger.pk])):
        assert admin_client.get(reverse(name, args=args)).status_code == 404
    response = admin_client.post(reverse("delivery:template-edit-site", args=["DR", stranger.pk]),
                                 {"html": "<p>x</p>", "action": "save"})
    assert response.status_code == 404 and not ReportTemplate.objects.exists()
    assert admin_client.post(reverse("delivery:template-preview-site", args=["DR", stranger.pk]),
                             {"html": "<p>x</p>"}).status_code == 404
    assert admin_client.get(reverse("delivery:template-edit", args=["SP"])).status_code == 404  # not subscribed
