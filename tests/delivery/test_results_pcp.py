"""PCP access: "My reports" lists the reports of orders naming the PCP's NPI (ordering,
referring or health-plan PCP) across organizations and nothing else; downloads are scoped and
audited; signed report links work without login, refuse tampering and expire."""
import time

import pytest
from django.core import signing
from django.urls import reverse

from delivery.results.links import report_link_resolve, report_link_token, report_link_url
from delivery.results.services import result_generate, result_resend
from iris_portal.models import AuditEvent
from tests.factories import OrganizationFactory, ProviderFactory, SiteFactory, UserFactory

from .factories import graded_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def pcp():
    provider = ProviderFactory(npi="1922334455", first_name="Paula", last_name="Care")
    return UserFactory(organization=OrganizationFactory(name="Practice"), is_clinic_staff=False, is_pcp=True,
                       provider=provider)


def report_for(**order_fields):
    return result_generate(grading_id=graded_order(**order_fields).pk)


def test_my_reports_lists_orders_naming_the_npi_in_any_role_and_organization(client, pcp):
    mine_ordering = report_for(ordering_provider=pcp.provider, local_id="A1")
    mine_referring = report_for(referring_provider=pcp.provider, local_id="A2",
                                site=SiteFactory(organization=OrganizationFactory(name="Other Org")))
    mine_pcp = report_for(primary_care_provider=pcp.provider, local_id="A3")
    not_mine = report_for(local_id="B1")  # ordered by another provider
    client.force_login(pcp)
    response = client.get(reverse("delivery:my-reports"))
    assert response.status_code == 200
    listed = {rs.pk for rs in response.context["reports"]}
    assert listed == {mine_ordering.pk, mine_referring.pk, mine_pcp.pk}
    assert not_mine.pk not in listed and b"Other Org" in response.content
    pdf = client.get(reverse("delivery:my-report-pdf", args=[mine_referring.pk]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    assert AuditEvent.objects.filter(user=pcp, action="download", object_type="result_document").count() == 1
    assert AuditEvent.objects.filter(user=pcp, action="list", object_type="report").count() == 1


def test_another_pcps_report_is_404(client, pcp):
    other = UserFactory(is_pcp=True, is_clinic_staff=False, provider=ProviderFactory())
    theirs = report_for(ordering_provider=other.provider)
    client.force_login(pcp)
    assert client.get(reverse("delivery:my-report-pdf", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("delivery:result-document", args=[theirs.pk, "pdf"])).status_code == 404
    assert client.get(reverse("delivery:result-document", args=[theirs.pk, "json"])).status_code == 404


def test_only_the_newest_result_of_an_order_is_listed(client, pcp):
    first = report_for(ordering_provider=pcp.provider)
    resent = result_resend(order_id=first.order_id)
    client.force_login(pcp)
    assert [rs.pk for rs in client.get(reverse("delivery:my-reports")).context["reports"]] == [resent.pk]


def test_my_reports_is_for_pcps_only(client):
    client.force_login(UserFactory())
    assert client.get(reverse("delivery:my-reports")).status_code == 404
    client.logout()
    assert client.get(reverse("delivery:my-reports")).status_code == 302  # to the login page


def test_organization_users_download_their_results_only(client):
    result_set = report_for()
    staff = UserFactory(organization=result_set.organization)
    client.force_login(staff)
    response = client.get(reverse("delivery:result-document", args=[result_set.pk, "json"]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    html = client.get(reverse("delivery:result-document", args=[result_set.pk, "html"]))
    assert "default-src 'none'" in html["Content-Security-Policy"]
    client.force_login(UserFactory())  # another organization
    assert client.get(reverse("delivery:result-document", args=[result_set.pk, "pdf"])).status_code == 404


def test_signed_link_works_without_login_and_is_audited(client):
    result_set = report_for()
    url = report_link_url(result_set=result_set)
    assert url.startswith("http://127.0.0.1:8000/delivery/r/")
    # A renderer can make the link from the TransactionId before the result set is stored.
    assert report_link_resolve(report_link_token(transaction_id=result_set.transaction_id)) == result_set
    response = client.get(url.removeprefix("http://127.0.0.1:8000"))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    event = AuditEvent.objects.get(action="download", object_type="result_document")
    assert event.user is None and event.object_id == str(result_set.document("pdf").pk)


def test_tampered_link_is_404(client):
    result_set = report_for()
    other = report_for()
    token = report_link_token(result_set=result_set)
    value, _, signature = token.rpartition(":")
    forged = signing.TimestampSigner(salt="delivery.report-link", key="not-our-key").sign_object(
        {"t": str(other.transaction_id)})
    unknown = report_link_token(transaction_id="00000000-0000-4000-8000-000000000000")
    for bad in (value + ":" + signature[::-1], token[:-2], "garbage", forged, token + "x", unknown):
        assert client.get(reverse("delivery:report-link", args=[bad])).status_code == 404, bad
    assert not AuditEvent.objects.filter(action="download").exists()


def test_expired_link_shows_a_clear_page(client, monkeypatch, settings):
    result_set = report_for()
    settings.IRIS_REPORT_LINK_DAYS = 14
    real = time.time
    with monkeypatch.context() as patch:
        patch.setattr(signing.time, "time", lambda: real() - 15 * 86400)
        token = report_link_token(result_set=result_set)
    response = client.get(reverse("delivery:report-link", args=[token]))
    assert response.status_code == 410
    assert b"This report link has expired" in response.content and b"%PDF" not in response.content
    fresh = client.get(reverse("delivery:report-link", args=[report_link_token(result_set=result_set)]))
    assert fresh.status_code == 200
