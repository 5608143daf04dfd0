"""The clinic dashboard: counts by status, awaiting images, results this week, urgent orders,
the turnaround chart; nothing about deliveries until they exist."""
import datetime as dt

import pytest
from django.utils import timezone

from iris_portal.dashboard import dashboard_build, turnaround_chart
from orders.models import Order, OrderStatus
from tests.factories import OrderFactory, PatientFactory

pytestmark = pytest.mark.django_db


def make(site, status=OrderStatus.AWAITING_IMAGES, **fields):
    order = OrderFactory(patient=PatientFactory(site=site), status=status)
    if fields:
        Order.objects.filter(pk=order.pk).update(**fields)
        order.refresh_from_db()
    return order


WEDNESDAY_NOON = timezone.make_aware(dt.datetime(2026, 3, 11, 12, 0))


def test_counts_lists_and_chart(clinic_user, north, south):
    now = WEDNESDAY_NOON
    old = make(north, created_at=now - dt.timedelta(days=20))
    make(north)
    urgent = make(south, OrderStatus.READY_FOR_GRADING, urgent=True)
    make(south, OrderStatus.COMPLETE, urgent=True)  # closed: not on the urgent list
    make(north, OrderStatus.COMPLETE, created_at=now - dt.timedelta(hours=30), graded_at=now - dt.timedelta(hours=6))
    make(north, OrderStatus.COMPLETE, created_at=now - dt.timedelta(days=30), graded_at=now - dt.timedelta(days=29))

    board = dashboard_build(user=clinic_user, now=now)
    counts = {status: count for status, _, count in board.status_counts}
    assert counts == {"awaiting_images": 2, "ready_for_grading": 1, "in_grading": 0, "complete": 3, "cancelled": 0}
    assert board.open_total == 3
    assert board.awaiting_images[0] == old  # oldest first
    assert board.urgent == [urgent]
    assert board.failed_deliveries == []  # delivery installed, nothing failed
    assert board.results_this_week == 1  # graded this morning; the other one a month ago
    bars = board.turnaround.bars
    assert [bar.label for bar in bars][-1] == "Mar 09" and len(bars) == 8
    assert (bars[-1].hours, bars[-1].count) == (24.0, 1)
    assert (bars[3].label, bars[3].hours, bars[3].count) == ("Feb 09", 24.0, 1)  # graded Feb 10
    assert sum(bar.count for bar in bars) == 2

    site_board = dashboard_build(user=clinic_user, site=south, now=now)
    assert {status: count for status, _, count in site_board.status_counts}["awaiting_images"] == 0


def test_chart_is_empty_without_graded_orders(north, clinic_user):
    make(north)
    from orders.selectors import order_list

    chart = turnaround_chart(orders=order_list(user=clinic_user), now=timezone.now())
    assert not chart.has_data and all(bar.hours is None and bar.height == 0 for bar in chart.bars)


def test_chart_geometry_scales_to_the_longest_week(north, clinic_user):
    now = timezone.now()
    make(north, OrderStatus.COMPLETE, created_at=now - dt.timedelta(hours=50), graded_at=now - dt.timedelta(hours=2))
    from orders.selectors import order_list

    chart = turnaround_chart(orders=order_list(user=clinic_user), now=now)
    assert chart.max_hours == 48 and chart.bars[-1].hours == 48.0
    plot_height = chart.height - chart.top - chart.bottom
    assert chart.bars[-1].height == plot_height and chart.bars[-1].y == chart.top


def test_dashboard_page_renders_the_svg_chart(clinic, north):
    now = timezone.now()
    make(north, OrderStatus.COMPLETE, created_at=now - dt.timedelta(hours=10), graded_at=now)
    html = clinic.get("/").content.decode()
    assert "<svg" in html and 'class="tat-bar"' in html


def test_failed_deliveries_of_the_organization_are_listed(clinic_user, north, other_org):
    from tests.factories import HostOrganizationFactory, ProviderFactory, UserFactory

    from .world import delivered

    grader = UserFactory(organization=HostOrganizationFactory(), is_clinic_staff=False, is_grader=True,
                         provider=ProviderFactory())
    mine = make(north, OrderStatus.COMPLETE)
    given_up = delivered(order=mine, grader=grader, state="given_up")
    delivered(order=make(north, OrderStatus.COMPLETE), grader=grader, state="delivered")
    delivered(order=make(other_org.sites.get(), OrderStatus.COMPLETE), grader=grader, state="given_up")
    assert dashboard_build(user=clinic_user).failed_deliveries == [given_up]


def test_without_result_delivery_the_panel_is_not_shown(clinic_user, monkeypatch):
    import iris_portal.dashboard as dashboard

    monkeypatch.setattr(dashboard, "optional", lambda path: None)
    assert dashboard_build(user=clinic_user).failed_deliveries is None


def test_every_graded_order_of_a_week_counts_and_an_even_count_has_the_middle_median(north, clinic_user):
    """Medians as statistics.median gives them (the two middle values averaged), counted over
    every graded order: on PostgreSQL by percentile_cont, on SQLite in Python."""
    from orders.selectors import order_list

    now = WEDNESDAY_NOON
    for hours in (10, 20, 40, 80):
        make(north, OrderStatus.COMPLETE, created_at=now - dt.timedelta(hours=hours + 1), graded_at=now - dt.timedelta(hours=1))
    make(north, OrderStatus.COMPLETE, created_at=now, graded_at=now - dt.timedelta(hours=1))  # graded "before": 0 h
    chart = turnaround_chart(orders=order_list(user=clinic_user), now=now)
    assert (chart.bars[-1].count, chart.bars[-1].hours) == (5, 20.0)
    make(north, OrderStatus.COMPLETE, created_at=now - dt.timedelta(hours=31), graded_at=now - dt.timedelta(hours=1))
    chart = turnaround_chart(orders=order_list(user=clinic_user), now=now)
    assert (chart.bars[-1].count, chart.bars[-1].hours) == (6, 25.0)
