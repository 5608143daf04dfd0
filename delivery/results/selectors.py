"""Results reads, always scoped (R1): an organization's users see their orders' results (site
limits apply); a PCP sees the results of orders that name their NPI as ordering, referring or
health-plan primary-care provider, in any organization, and nothing else."""
from django.db.models import OuterRef, Q, QuerySet, Subquery

from delivery.models import ResultSet
from iris_portal.prepared import PreparedQuery
from orders.selectors import order_list, order_visible


def pcp_result_sets(*, user) -> QuerySet[ResultSet]:
    """Result sets of orders naming the PCP user's provider; none for anyone else."""
    if not (user.is_authenticated and user.is_active and user.is_pcp and user.provider_id):
        return ResultSet.objects.none()
    provider = user.provider_id
    return ResultSet.objects.filter(Q(order__ordering_provider_id=provider) | Q(order__referring_provider_id=provider)
                                    | Q(order__primary_care_provider_id=provider))


def latest_only(queryset: QuerySet[ResultSet]) -> QuerySet[ResultSet]:
    """The newest result set of each order (a correction or resend replaces what came before)."""
    newest = ResultSet.objects.filter(order=OuterRef("order")).order_by("-created_at", "-id").values("pk")[:1]
    return queryset.filter(pk=Subquery(newest))


def pcp_reports(*, user) -> QuerySet[ResultSet]:
    """"My reports": the current report of every order that names the PCP, newest first."""
    return (latest_only(pcp_result_sets(user=user))
            .select_related("order", "order__patient", "order__site", "organization")
            .prefetch_related("documents").order_by("-created_at", "-id"))


def result_sets_for_order(*, order, user) -> list[ResultSet]:
    """The result sets of one order that the user may open, newest first, with their documents:
    all of them when the order is one of theirs (checked on the order: ``order_visible``), else
    what the PCP rule allows."""
    if order_visible(order, user=user):
        return _RESULT_SETS_OF_ORDER(order_id=order.pk)
    return list(result_sets_visible(user=user).filter(order=order).prefetch_related("documents")
                .order_by("-created_at", "-pk"))


_RESULT_SETS_OF_ORDER = PreparedQuery(
    lambda order_id: ResultSet.objects.filter(order_id=order_id).order_by("-created_at", "-pk"),
    prefetch=("documents",))


def result_sets_visible(*, user) -> QuerySet[ResultSet]:
    """Every result set a user may open: their organization's orders, or the PCP rule."""
    if not user.is_authenticated:
        return ResultSet.objects.none()
    scope = Q(order__in=order_list(user=user).values("pk"))
    if user.is_pcp:
        scope |= Q(pk__in=pcp_result_sets(user=user).values("pk"))
    return ResultSet.objects.filter(scope)
