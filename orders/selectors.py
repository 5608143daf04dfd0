"""Reads of orders, always scoped to the user (R1)."""
from django.db.models import Count, QuerySet

from iris_portal.permissions import can_see_organization_data
from iris_portal.scoping import scope_to_organization
from organizations.selectors_admin import site_limits

from .models import Order


def order_list(*, user) -> QuerySet[Order]:
    """Orders the user may see: their organization's, limited to their sites if they have any.
    Only clinic staff and organization admins see the organization's orders this way (PCPs,
    graders and service accounts have their own rules)."""
    if not can_see_organization_data(user):
        return Order.objects.none()
    queryset = scope_to_organization(Order.objects.all(), user).filter(site_limits(user, "site_id"))
    return queryset.select_related("patient", "site")


def order_status_counts(*, user) -> dict[str, int]:
    rows = order_list(user=user).order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
