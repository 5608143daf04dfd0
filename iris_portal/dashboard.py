"""Reads for the clinic dashboard, scoped like the order list (R1, site limits, site switcher)."""
import datetime as dt
import statistics
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.utils import timezone

from orders.models import OPEN_STATUSES, Order, OrderStatus
from orders.selectors import order_list

from .optional import optional

TURNAROUND_WEEKS = 8
TURNAROUND_SAMPLE = 5000  # newest graded orders considered; plenty for weekly medians


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
    rows = (orders.filter(status=OrderStatus.COMPLETE, graded_at__gte=since).order_by("-graded_at")
            .values_list("created_at", "graded_at")[:TURNAROUND_SAMPLE])
    by_week: dict[int, list[float]] = {}
    zone = timezone.get_current_timezone()  # once: looking it up per row was a fifth of the page
    for created, graded in rows:
        index = (graded.astimezone(zone).date() - first_monday).days // 7
        by_week.setdefault(index, []).append(max(0.0, (graded - created).total_seconds() / 3600))
    bars = []
    for index in range(weeks):
        hours = by_week.get(index, [])
        monday = first_monday + dt.timedelta(weeks=index)
        bars.append(WeekBar(label=monday.strftime("%b %d"), count=len(hours),
                            hours=round(statistics.median(hours), 1) if hours else None))
    return _layout(TurnaroundChart(bars=bars))


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
