"""Reads for the HL7 interface settings pages (SPEC 4.3), scoped to the signed-in user (R1).

Organization admins and integration administrators configure the organization's HL7 feeds;
everyone else gets nothing, so another organization's interface (or a clinic user asking) is 404."""
from django.db.models import Count, QuerySet

from iris_portal.scoping import scope_to_organization

from .models import HL7Interface, Site


def can_configure_integrations(user) -> bool:
    """Organization admins and integration administrators of an organization (no query)."""
    return bool(user.is_authenticated and user.is_active and user.organization_id
                and (user.is_org_admin or user.is_integration_admin))


def hl7_interfaces_administered(*, user) -> QuerySet[HL7Interface]:
    if not can_configure_integrations(user):
        return HL7Interface.objects.none()
    return scope_to_organization(HL7Interface.objects.select_related("organization"), user).annotate(
        mapping_count=Count("site_mappings"))


def hl7_mapping_sites(*, user) -> QuerySet[Site]:
    """The sites an HL7 code may be mapped to: the organization's own (inactive ones too, so a
    mapping to a site being retired stays visible)."""
    if not can_configure_integrations(user):
        return Site.objects.none()
    return scope_to_organization(Site.objects.all(), user).order_by("name")


def _norm(values) -> set[str]:
    return {value.strip().lower() for value in values or [] if value.strip()}


def hl7_sender_conflicts(*, applications: list[str], facilities: list[str], exclude_pk=None) -> list[HL7Interface]:
    """Active interfaces (of any organization) that would also accept a message from this
    MSH-3/MSH-4: the listener takes the first match, so an overlap would send one sender's
    orders to the wrong organization. Overlap: a common MSH-4 value and either a common MSH-3
    value or one side accepting any MSH-3."""
    wanted_facilities, wanted_applications = _norm(facilities), _norm(applications)
    if not wanted_facilities:
        return []
    candidates = HL7Interface.objects.filter(is_active=True).select_related("organization").order_by("pk")
    if exclude_pk is not None:
        candidates = candidates.exclude(pk=exclude_pk)
    conflicts = []
    for other in candidates:
        other_applications = _norm(other.sending_applications)
        if not (_norm(other.sending_facilities) & wanted_facilities):
            continue
        if not wanted_applications or not other_applications or wanted_applications & other_applications:
            conflicts.append(other)
    return conflicts
