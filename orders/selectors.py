"""Reads of orders, always scoped to the user (R1)."""
from django.db.models import Count, QuerySet

from iris_portal.scoping import scope_to_organization

from .models import Order


def order_list(*, user) -> QuerySet[Order]:
    """Orders the user may see: their organization's, limited to their sites if they have any."""
    queryset = scope_to_organization(Order.objects.all(), user)
    if user.is_authenticated and not user.is_org_admin:
        site_ids = list(user.sites.values_list("pk", flat=True))
        if site_ids:
            queryset = queryset.filter(site_id__in=site_ids)
    return queryset.select_related("patient", "site")


def order_status_counts(*, user) -> dict[str, int]:
    rows = order_list(user=user).order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
