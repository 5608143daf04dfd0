"""Reads of orders, always scoped to the user (R1)."""
from django.db.models import Count, QuerySet

from iris_portal.permissions import can_see_organization_data
from iris_portal.scoping import organization_of, scope_to_organization
from organizations.selectors_admin import site_limits, user_site_ids

from .models import Order


def order_list(*, user) -> QuerySet[Order]:
    """Orders the user may see: their organization's, limited to their sites if they have any.
    Only clinic staff and organization admins see the organization's orders this way (PCPs,
    graders and service accounts have their own rules)."""
    if not can_see_organization_data(user):
        return Order.objects.none()
    queryset = scope_to_organization(Order.objects.all(), user).filter(site_limits(user, "site_id"))
    return queryset.select_related("patient", "site")


def order_visible(order: Order, *, user) -> bool:
    """Whether ``order_list(user=user)`` holds ``order``, decided without a query (the site
    limits are the request's one site read): for the sections of a page about an order already
    fetched, instead of a subquery of ``order_list`` compiled again in each of them."""
    if not can_see_organization_data(user) or organization_of(user) is None:
        return False
    if order.organization_id != user.organization_id:
        return False
    limits = () if user.is_org_admin else user_site_ids(user)
    return not limits or order.site_id in limits


def order_status_counts(*, user) -> dict[str, int]:
    rows = order_list(user=user).order_by().values("status").annotate(n=Count("id"))
    return {row["status"]: row["n"] for row in rows}
