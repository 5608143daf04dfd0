"""Reads for graders (R9): they see orders of every client organization, but only in the
states they hold a license for and only of human-read evaluation types."""
from django.db.models import Q, QuerySet
from django.utils import timezone

from iris_portal.prepared import PreparedQuery
from orders.models import Image, Order, OrderStatus
from orders.reference import EVALUATION_TYPES
from orders.selectors import order_list
from organizations.models import ProviderLicense

from .models import Grading

AI_TYPES = [info.code for info in EVALUATION_TYPES if info.ai]
GRADABLE_STATUSES = (OrderStatus.READY_FOR_GRADING, OrderStatus.IN_GRADING)


def licensed_states(*, user) -> list[str]:
    """States of the grader's unexpired licenses; none for anyone who is not a grader."""
    if not (user.is_authenticated and user.is_active and user.is_grader and user.provider_id):
        return []
    today = timezone.localdate()
    return list(ProviderLicense.objects.filter(provider_id=user.provider_id)
                .filter(Q(expires_on__isnull=True) | Q(expires_on__gte=today)).values_list("state", flat=True))


def grader_orders(*, user) -> QuerySet[Order]:
    """Every order the grader may see: licensed states, no AI-read type (any status)."""
    states = licensed_states(user=user)
    if not states:
        return Order.objects.none()
    return Order.objects.filter(state__in=states).exclude(exams__evaluation_type__in=AI_TYPES)


def grading_queue(*, user) -> QuerySet[Order]:
    """Ready orders nobody else holds a live claim on, oldest first (by when they became ready)."""
    now = timezone.now()
    free = Q(claim__isnull=True) | Q(claim__expires_at__lte=now) | Q(claim__grader=user)
    return (grader_orders(user=user).filter(status__in=GRADABLE_STATUSES).filter(free)
            .select_related("claim", "organization", "site").order_by("serviced_at", "created_at", "pk"))


def grading_current(*, order: Order) -> Grading | None:
    """The order's grading in force (the highest version not superseded), with grader and eyes."""
    found = _CURRENT_GRADING(order_id=order.pk)
    return found[0] if found else None


_CURRENT_GRADING = PreparedQuery(
    lambda order_id: (Grading.objects.filter(order_id=order_id, superseded=False)
                      .select_related("grader", "grader__provider").order_by("-version", "-pk")[:1]),
    prefetch=("eyes",))


def images_visible(*, user) -> QuerySet[Image]:
    """Images a user may open: their organization's orders (site limits apply) or, for a grader,
    orders they may grade (R9). Anonymous users and everyone else: none."""
    if not user.is_authenticated:
        return Image.objects.none()
    scope = Q(order__in=order_list(user=user).values("pk"))
    if user.is_grader:
        scope |= Q(order__in=grader_orders(user=user).values("pk"))
    return Image.objects.filter(scope).select_related("order")


def gradings_emergent(*, user) -> QuerySet[Grading]:
    """Current emergent gradings of the user's orders, newest first (for the clinic dashboard)."""
    return (Grading.objects.filter(order__in=order_list(user=user).values("pk"), emergent=True, superseded=False)
            .select_related("order").order_by("-graded_at"))
