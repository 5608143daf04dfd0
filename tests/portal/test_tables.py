"""The shared table machinery: the capped count, dates without per-cell templates, rows joined
in Python (escaped like a template would)."""
import datetime as dt

import django_tables2 as tables
import pytest
from django.utils import timezone

from iris_portal.tables import CappedPaginator, DateColumn, DateTimeColumn, PortalTable
from organizations.models import Site
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def test_the_count_stops_at_the_cap(org, monkeypatch):
    for _ in range(6):
        SiteFactory(organization=org)
    monkeypatch.setattr(CappedPaginator, "cap", 5)
    paginator = CappedPaginator(Site.objects.filter(organization=org).order_by("pk"), 3)
    assert (paginator.count, paginator.capped, paginator.count_label, paginator.num_pages) == (5, True, "5+", 2)
    exact = CappedPaginator(Site.objects.filter(organization=org, local_id__in=["NORTH", "SOUTH"]), 3)
    assert (exact.count, exact.capped, exact.count_label) == (2, False, "2")
    assert [site.local_id for site in paginator.page(1)] == [s.local_id for s in Site.objects.filter(
        organization=org).order_by("pk")[:3]]


def test_date_columns_format_in_the_current_time_zone(settings):
    settings.TIME_ZONE = "America/New_York"
    moment = dt.datetime(2026, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
    with timezone.override("America/New_York"):
        assert DateTimeColumn().render(moment) == "2026-01-01 22:04"
    assert DateColumn().render(dt.date(1955, 12, 10)) == "1955-12-10"


class _NameTable(PortalTable):
    name = tables.Column("Name", attrs={"td": {"class": "fw-semibold"}})
    count = tables.Column("Count")

    class Meta(PortalTable.Meta):
        fields = ()


def test_rows_joined_in_python_escape_like_the_template_and_show_empty_text():
    html = _NameTable([{"name": "<script>x</script> & Co", "count": 3}, {"name": "Ada", "count": None}]).body_html()
    assert html.count("<tr>") == 2
    assert '<td class="fw-semibold">&lt;script&gt;x&lt;/script&gt; &amp; Co</td><td>3</td>' in html
    assert "<script>" not in html and "<td>—</td>" in html  # a missing value shows the default
    assert _NameTable([]).body_html() == ""
