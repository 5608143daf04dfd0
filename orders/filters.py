"""Order Manager filters. Each maps to an indexed column (organization/site/status/created_at)
or an indexed exam row, so a filtered page stays fast with 100,000 orders."""
from functools import reduce
from operator import or_

import django_filters
from django.db.models import Exists, OuterRef, Q

from iris_portal.filters import DateFromFilter, DateToFilter, PortalFilterSet, YesNoFilter
from iris_portal.optional import optional
from iris_portal.site_switcher import visible_sites
from organizations.models import Site
from patients.models import Patient

from .models import OPEN_STATUSES, Order, OrderExam, OrderSource, OrderStatus
from .reference import EVALUATION_TYPE_CHOICES

OPEN = "open"
AWAITING_PICKUP = "delivery.selectors.deliveries_awaiting_pickup"
PATIENT_MATCHES = 1000  # a search matching more patients than this needs a longer term
STATUS_CHOICES = [(OPEN, "Open (not complete or cancelled)"), *OrderStatus.choices]


def any_prefix(field: str, prefixes) -> Q:
    return reduce(or_, (Q(**{f"{field}__startswith": prefix}) for prefix in prefixes))


class OrderFilterSet(PortalFilterSet):
    choice_objects = {"site": visible_sites}
    status = django_filters.ChoiceFilter(choices=STATUS_CHOICES, method="filter_status", empty_label="Any status")
    site = django_filters.ModelChoiceFilter(queryset=Site.objects.none(), empty_label="Any site")
    evaluation_type = django_filters.ChoiceFilter(choices=EVALUATION_TYPE_CHOICES, method="filter_evaluation_type",
                                                  label="Exam", empty_label="Any exam")
    source = django_filters.ChoiceFilter(choices=OrderSource.choices, label="Channel", empty_label="Any channel")
    created_from = DateFromFilter(field_name="created_at", label="Created from")
    created_to = DateToFilter(field_name="created_at", label="Created to")
    new_results = YesNoFilter(method="filter_new_results", label="New results", yes="Waiting for download",
                              no="None waiting")

    class Meta:
        model = Order
        fields = ["q", "status", "site", "evaluation_type", "source", "created_from", "created_to", "new_results"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if optional(AWAITING_PICKUP) is None:  # portal pickup is part of result delivery
            del self.filters["new_results"]

    def search(self, queryset, name, value):
        """The start of the order id, the patient's MRN or last name, as typed or capitalised.
        Case-sensitive prefixes (``LIKE 'x%'``) so PostgreSQL can use the (organization,
        local_id) and (organization, last_name) indexes; ``istartswith`` would scan every order."""
        value = value.strip()
        if not value:
            return queryset
        variants = {value, value.upper(), value.capitalize()}
        # The matching patients first (a short list), then orders by id prefix or those patients:
        # one OR across the join would make PostgreSQL scan every order.
        patient_ids = list(Patient.objects.filter(organization_id=self.request.user.organization_id)
                           .filter(any_prefix("local_id", variants) | any_prefix("last_name", variants))
                           .order_by().values_list("pk", flat=True)[:PATIENT_MATCHES])
        return queryset.filter(any_prefix("local_id", variants) | Q(patient_id__in=patient_ids))

    def filter_status(self, queryset, name, value):
        return queryset.filter(status__in=OPEN_STATUSES) if value == OPEN else queryset.filter(status=value)

    def filter_new_results(self, queryset, name, value):
        """Results waiting in the portal for download (portal pickup deliveries)."""
        waiting = optional(AWAITING_PICKUP)(user=self.request.user).values("order_id")
        return queryset.filter(pk__in=waiting) if value else queryset.exclude(pk__in=waiting)

    def filter_evaluation_type(self, queryset, name, value):
        return queryset.filter(Exists(OrderExam.objects.filter(order=OuterRef("pk"), evaluation_type=value)))
