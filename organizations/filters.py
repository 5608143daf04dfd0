"""Filters of the organization admin pages."""
import django_filters

from iris_portal.filters import DateFromFilter, DateToFilter, PortalFilterSet, YesNoFilter
from iris_portal.models import AuditEvent

from .models import Department, Device, Site, User
from .selectors_admin import sites_administered, users_administered



def _sites(request):
    return sites_administered(user=request.user) if request else Site.objects.none()


def _users(request):
    return users_administered(user=request.user) if request else User.objects.none()


class SiteFilterSet(PortalFilterSet):
    search_fields = ("local_id__icontains", "name__icontains", "city__icontains")
    is_active = YesNoFilter(label="Active", yes="Active", no="Inactive")

    class Meta:
        model = Site
        fields = ["q", "state", "is_active"]


class DepartmentFilterSet(PortalFilterSet):
    search_fields = ("local_id__icontains", "name__icontains")
    site = django_filters.ModelChoiceFilter(queryset=_sites, empty_label="Any site")

    class Meta:
        model = Department
        fields = ["q", "site"]


class DeviceFilterSet(PortalFilterSet):
    search_fields = ("local_id__icontains", "serial_number__icontains", "manufacturer__icontains", "model__icontains")
    site = django_filters.ModelChoiceFilter(queryset=_sites, empty_label="Any site")

    class Meta:
        model = Device
        fields = ["q", "site"]


ROLE_CHOICES = [("is_clinic_staff", "Clinic staff"), ("is_org_admin", "Organization admin"),
                ("is_integration_admin", "Integration administrator"), ("is_pcp", "PCP")]


class UserFilterSet(PortalFilterSet):
    search_fields = ("username__icontains", "last_name__icontains", "first_name__icontains", "email__icontains")
    role = django_filters.ChoiceFilter(choices=ROLE_CHOICES, method="filter_role", label="Role", empty_label="Any role")
    is_active = YesNoFilter(label="Active", yes="Active", no="Deactivated")

    class Meta:
        model = User
        fields = ["q", "role", "is_active"]

    def filter_role(self, queryset, name, value):
        return queryset.filter(**{value: True})


class AuditEventFilterSet(PortalFilterSet):
    search_fields = ("object_id__exact", "path__icontains")
    user = django_filters.ModelChoiceFilter(queryset=_users, empty_label="Anyone")
    action = django_filters.ChoiceFilter(choices=AuditEvent.Action.choices, empty_label="Any action")
    object_type = django_filters.CharFilter(label="Object type")
    since = DateFromFilter(field_name="at", label="From")
    until = DateToFilter(field_name="at", label="To")

    class Meta:
        model = AuditEvent
        fields = ["q", "user", "action", "object_type", "since", "until"]
