"""Reads for the clinic dashboard, scoped like the order list (R1, site limits, site switcher)."""
import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Aggregate, Count, DurationField, ExpressionWrapper, F, FloatField, QuerySet, Value
from django.db.models.functions import Extract, Greatest, TruncWeek
from django.utils import timezone

from orders.models import OPEN_STATUSES, Order, OrderStatus
from orders.selectors import order_list

from .optional import optional

TURNAROUND_WEEKS = 8


@dataclass
class WeekBar:
    label: str
    hours: float | None
    count: int
    x: float = 0
    cx: float = 0  # centre, for labels
    y: float = 0
    height: float = 0


@dataclass
class TurnaroundChart:
    """Median hours from order to grading per week, with bar geometry for an inline SVG."""

    bars: list[WeekBar]
    width: int = 640
    height: int = 200
    top: int = 20
    bottom: int = 28
    bar_width: float = 0
    max_hours: float = 0
    gridlines: list = field(default_factory=list)  # (y, label)

    @property
    def has_data(self) -> bool:
        return any(bar.count for bar in self.bars)


@dataclass
class Dashboard:
    status_counts: list  # (status, label, count)
    open_total: int
    awaiting_images: list
    results_this_week: int
    urgent: list
    latest: list
    turnaround: TurnaroundChart
    failed_deliveries: list | None  # None while result delivery is not installed: nothing is shown


def dashboard_orders(*, user, site=None) -> QuerySet[Order]:
    orders = order_list(user=user)
    return orders.filter(site=site) if site is not None else orders


def dashboard_build(*, user, site=None, now: dt.datetime | None = None) -> Dashboard:
    now = now or timezone.now()
    orders = dashboard_orders(user=user, site=site)
    counts = {row["status"]: row["n"] for row in orders.order_by().values("status").annotate(n=Count("id"))}
    week_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    week_start -= dt.timedelta(days=week_start.weekday())
    return Dashboard(
        status_counts=[(status, label, counts.get(status, 0)) for status, label in OrderStatus.choices],
        open_total=sum(counts.get(status, 0) for status in OPEN_STATUSES),
        awaiting_images=list(orders.filter(status=OrderStatus.AWAITING_IMAGES).order_by("created_at")[:5]),
        results_this_week=orders.filter(status=OrderStatus.COMPLETE, graded_at__gte=week_start).count(),
        # Placeholder until results carry urgent/emergent flags: open orders submitted as urgent.
        urgent=list(orders.filter(urgent=True, status__in=OPEN_STATUSES).order_by("-created_at")[:10]),
        latest=list(orders[:10]),
        turnaround=turnaround_chart(orders=orders, now=now),
        failed_deliveries=failed_deliveries(user=user, site=site),
    )


def failed_deliveries(*, user, site=None, limit: int = 5) -> list | None:
    """Deliveries given up, retrying or stuck (the delivery issue's monitor), newest first;
    None while result delivery is not installed, so the dashboard shows nothing rather than zeros."""
    troubled = optional("delivery.selectors.deliveries_troubled")
    if troubled is None:
        return None
    deliveries = troubled(user=user).select_related("order__patient")
    if site is not None:
        deliveries = deliveries.filter(order__site=site)
    return list(deliveries[:limit])


def turnaround_chart(*, orders: QuerySet[Order], now: dt.datetime, weeks: int = TURNAROUND_WEEKS) -> TurnaroundChart:
    today = timezone.localtime(now).date()
    first_monday = today - dt.timedelta(days=today.weekday(), weeks=weeks - 1)
    since = timezone.make_aware(dt.datetime.combine(first_monday, dt.time.min))
    graded = orders.filter(status=OrderStatus.COMPLETE, graded_at__gte=since).order_by()
    by_week = _weekly_medians(graded, first_monday)
    bars = []
    for index in range(weeks):
        count, hours = by_week.get(index, (0, None))
        monday = first_monday + dt.timedelta(weeks=index)
        bars.append(WeekBar(label=monday.strftime("%b %d"), count=count,
                            hours=round(hours, 1) if hours is not None else None))
    return _layout(TurnaroundChart(bars=bars))


class _Median(Aggregate):
    """PostgreSQL's median (``percentile_cont(0.5)``, which interpolates like statistics.median)."""

    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def _weekly_medians(graded: QuerySet[Order], first_monday: dt.date) -> dict[int, tuple[int, float]]:
    """{week index: (graded orders, median hours from order to grading)}, every graded order
    counted. On PostgreSQL one grouped query (an organization grading 800 orders a week has 6,400
    in the chart: reading them into Python took 50 ms); elsewhere (the embedded SQLite mode, small
    by nature) the rows are read and the medians computed here."""
    zone = timezone.get_current_timezone()
    if connection.vendor == "postgresql":
        took = ExpressionWrapper(F("graded_at") - F("created_at"), output_field=DurationField())
        hours = Greatest(Value(0.0), Extract(took, "epoch") / 3600.0)
        rows = (graded.annotate(week=TruncWeek("graded_at", tzinfo=zone)).values("week")
                .annotate(n=Count("id"), median=_Median(hours)).order_by("week"))
        return {(row["week"].date() - first_monday).days // 7: (row["n"], row["median"]) for row in rows}
    by_week: dict[int, list[float]] = {}
    for created, graded_at in graded.values_list("created_at", "graded_at"):
        index = (graded_at.astimezone(zone).date() - first_monday).days // 7
        by_week.setdefault(index, []).append(max(0.0, (graded_at - created).total_seconds() / 3600))
    return {index: (len(hours), statistics.median(hours)) for index, hours in by_week.items()}


def _nice_ceiling(value: float) -> float:
    for step in (1, 2, 4, 6, 12, 24, 48, 72, 96, 168, 336, 720):
        if value <= step:
            return step
    return value


def _layout(chart: TurnaroundChart) -> TurnaroundChart:
    plot_height = chart.height - chart.top - chart.bottom
    chart.max_hours = _nice_ceiling(max((bar.hours or 0) for bar in chart.bars) or 1)
    slot = (chart.width - 40) / len(chart.bars)
    chart.bar_width = round(slot * 0.6, 1)
    for index, bar in enumerate(chart.bars):
        bar.height = round(plot_height * (bar.hours or 0) / chart.max_hours, 1)
        bar.x = round(40 + index * slot + (slot - chart.bar_width) / 2, 1)
        bar.cx = round(bar.x + chart.bar_width / 2, 1)
        bar.y = round(chart.top + plot_height - bar.height, 1)
    chart.gridlines = [(round(chart.top + plot_height * (1 - fraction), 1), f"{chart.max_hours * fraction:g} h")
                       for fraction in (0, 0.5, 1)]
    return chart
