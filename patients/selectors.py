"""Reads of patients, always scoped to the user (R1): the organization's clinic staff and admins;
staff limited to sites see the patients registered at those sites or with orders there."""
from django.db.models import Exists, OuterRef, Q, QuerySet

from iris_portal.permissions import can_see_organization_data
from iris_portal.scoping import scope_to_organization
from orders.models import Order
from orders.selectors import order_list
from organizations.selectors_admin import user_site_ids

from .models import Patient


def _at_sites(site_ids) -> Q:
    return Q(site_id__in=site_ids) | Q(Exists(Order.objects.filter(patient=OuterRef("pk"), site_id__in=site_ids)))


def patient_list(*, user) -> QuerySet[Patient]:
    if not can_see_organization_data(user):
        return Patient.objects.none()
    queryset = scope_to_organization(Patient.objects.select_related("site"), user)
    if not user.is_org_admin:
        site_ids = user_site_ids(user)
        if site_ids:
            queryset = queryset.filter(_at_sites(site_ids))
    return queryset


def patients_at_site(queryset: QuerySet[Patient], site) -> QuerySet[Patient]:
    """The site switcher's filter: registered at the site or with an order there."""
    return queryset.filter(_at_sites([site.pk]))


def patient_orders(*, user, patient: Patient) -> QuerySet[Order]:
    """The patient's order history, as far as the user may see orders."""
    return order_list(user=user).filter(patient=patient).order_by("-created_at")
