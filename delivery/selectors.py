"""Delivery reads, always scoped to the user's organization (R1) and, through ``order_list``, to
the sites the user may see."""
from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils import timezone

from iris_portal.prepared import PreparedQuery
from iris_portal.scoping import scope_to_organization
from orders.models import Order
from orders.selectors import order_list, order_visible

from .models import Delivery, DeliveryState, Endpoint


def deliveries_visible(*, user) -> QuerySet[Delivery]:
    return (Delivery.objects.filter(order__in=order_list(user=user).values("pk"))
            .select_related("endpoint", "order", "result_set"))


def deliveries_for_order(*, order: Order, user) -> list[Delivery]:
    """The delivery record of one order: one row per recipient, newest result first, with its attempts.
    Nothing when the user may not see the order (checked on the order itself: ``order_visible``)."""
    if not order_visible(order, user=user):
        return []
    deliveries = _DELIVERIES_OF_ORDER(order_id=order.pk)
    for delivery in deliveries:  # the order given, not another copy of it joined to every row
        delivery.order = order
    return deliveries


_DELIVERIES_OF_ORDER = PreparedQuery(
    lambda order_id: (Delivery.objects.filter(order_id=order_id).select_related("endpoint", "result_set")
                      .order_by("-result_set__created_at", "endpoint__name", "pk")),
    prefetch=("attempt_log",))


def deliveries_awaiting_pickup(*, user) -> QuerySet[Delivery]:
    """Portal-pickup results waiting to be downloaded ("new results")."""
    return (deliveries_visible(user=user)
            .filter(state=DeliveryState.PENDING, next_attempt_at__isnull=True, endpoint__kind="portal")
            .select_related("order__patient", "order__site").order_by("created_at", "pk"))


def deliveries_troubled(*, user) -> QuerySet[Delivery]:
    """The monitor: given up, failing (retrying), and stuck in "sending" past their claim."""
    now = timezone.now()
    return (deliveries_visible(user=user)
            .filter(Q(state__in=[DeliveryState.GIVEN_UP, DeliveryState.FAILED])
                    | Q(state=DeliveryState.SENDING, claimed_until__lt=now))
            .order_by("-updated_at", "-pk"))


def endpoints_of(*, user) -> QuerySet[Endpoint]:
    return scope_to_organization(Endpoint.objects.select_related("site"), user)
