"""Organization admin pages: sites (address, state), departments, cameras, users (invite, roles,
site limits, deactivate) and the audit log. Only the organization's admins; another
organization's object is a 404 (R1) because every view fetches through *_administered selectors."""
from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.views import View

from iris_portal.permissions import can_administer_organization
from iris_portal.views.generic import (
    ObjectActionMixin, ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView,
)

from .filters import AuditEventFilterSet, DepartmentFilterSet, DeviceFilterSet, SiteFilterSet, UserFilterSet
from .forms import DepartmentForm, DeviceForm, SiteForm, UserForm
from .selectors_admin import (
    audit_events_administered, departments_administered, devices_administered, sites_administered,
    users_administered,
)
from .services_admin import (
    set_password_link_send, user_invite, user_set_active, user_two_factor_reset, user_update,
)
from .tables import AuditEventTable, DepartmentTable, DeviceTable, SiteTable, UserTable


class AdminViewMixin:
    allowed = staticmethod(can_administer_organization)


# Sites -------------------------------------------------------------------------------------------

class SiteListView(AdminViewMixin, ObjectListView):
    selector = sites_administered
    table, filterset = SiteTable, SiteFilterSet
    title = "Sites"
    add_url_name = "organizations:site-add"


class SiteDetailView(AdminViewMixin, ObjectDetailView):
    selector = sites_administered
    template_name = "organizations/admin_site_detail.html"

    def get_extra_context(self, site) -> dict:
        return {"departments": list(site.departments.all()), "devices": list(site.devices.all()),
                "limited_users": list(site.users.filter(organization=site.organization))}


class SiteEditView(AdminViewMixin, ObjectEditView):
    selector = sites_administered
    form_class = SiteForm
    audit_type = noun = "site"
    success_url_name = "organizations:site-detail"
    cancel_url_name = "organizations:site-list"


# Departments and cameras -------------------------------------------------------------------------

class DepartmentListView(AdminViewMixin, ObjectListView):
    selector = departments_administered
    table, filterset = DepartmentTable, DepartmentFilterSet
    title = "Departments"
    add_url_name = "organizations:department-add"


class DepartmentEditView(AdminViewMixin, ObjectEditView):
    selector = departments_administered
    form_class = DepartmentForm
    audit_type = noun = "department"
    cancel_url_name = "organizations:department-list"
    delete_url_name = "organizations:department-delete"


class DepartmentDeleteView(AdminViewMixin, ObjectDeleteView):
    selector = departments_administered
    audit_type = "department"
    success_url_name = "organizations:department-list"


class DeviceListView(AdminViewMixin, ObjectListView):
    selector = devices_administered
    table, filterset = DeviceTable, DeviceFilterSet
    title = "Cameras"
    add_url_name = "organizations:device-add"


class DeviceEditView(AdminViewMixin, ObjectEditView):
    selector = devices_administered
    form_class = DeviceForm
    audit_type = "device"
    noun = "camera"
    cancel_url_name = "organizations:device-list"
    delete_url_name = "organizations:device-delete"


class DeviceDeleteView(AdminViewMixin, ObjectDeleteView):
    selector = devices_administered
    audit_type = "device"
    success_url_name = "organizations:device-list"


# Users -------------------------------------------------------------------------------------------

class UserListView(AdminViewMixin, ObjectListView):
    selector = users_administered
    table, filterset = UserTable, UserFilterSet
    title = "Users"
    add_url_name = "organizations:user-invite"


class UserDetailView(AdminViewMixin, ObjectDetailView):
    selector = users_administered
    template_name = "organizations/admin_user_detail.html"
    audit_type = "user"

    def get_extra_context(self, user) -> dict:
        from django_otp import user_has_device

        return {"has_two_factor": user_has_device(user, confirmed=True), "is_self": user.pk == self.request.user.pk}


class UserEditView(AdminViewMixin, ObjectEditView):
    """Invite (no pk: the user gets a set-password link by email) or edit roles and site limits."""

    selector = users_administered
    form_class = UserForm
    audit_type = noun = "user"
    success_url_name = "organizations:user-detail"
    cancel_url_name = "organizations:user-list"

    def get_title(self) -> str:
        return f"Edit {self.object.username}" if self.object else "Invite a user"

    def save_form(self, form):
        if self.object is not None:
            return user_update(user=self.object, **form.changes())
        user = user_invite(organization=self.request.user.organization, username=form.cleaned_data["username"],
                           invited_by=self.request.user, **form.changes())
        messages.info(self.request, f"An email with a link to set a password was sent to {user.email}.")
        return user


class UserActionView(AdminViewMixin, ObjectActionMixin, View):
    """POST-only actions on a user: deactivate/reactivate, send a set-password link, reset 2FA."""

    selector = users_administered
    audit_type = "user"

    def post(self, request, pk: int, action: str):
        user = self.object
        if action in ("deactivate", "activate"):
            try:
                user_set_active(user=user, active=action == "activate", by=request.user)
            except ValueError as exc:
                messages.error(request, str(exc))
            else:
                messages.success(request, f"{user.username} is {'active' if user.is_active else 'deactivated'}.")
        elif action == "send-link":
            set_password_link_send(user=user, invited_by=request.user)
            messages.success(request, f"A link to set a password was sent to {user.email}.")
        elif action == "reset-two-factor":
            count = user_two_factor_reset(user=user)
            messages.success(request, f"Removed {count} authenticator device(s) of {user.username}; "
                                      "they set up a new one at their next sign-in.")
        self.audit("change", user.pk)
        return HttpResponseRedirect(reverse("organizations:user-detail", args=[user.pk]))


# Audit log ---------------------------------------------------------------------------------------

class AuditLogView(AdminViewMixin, ObjectListView):
    selector = audit_events_administered
    table, filterset = AuditEventTable, AuditEventFilterSet
    title = "Audit log"
    audit_type = "audit_log"
    per_page = 50
    export_filename = "audit-log"

    def export_rows(self, queryset):
        yield ["When", "User", "Action", "Object type", "Object id", "Page", "Address", "Browser"]
        for event in queryset.iterator(chunk_size=2000):
            yield [event.at.isoformat(), event.user.username if event.user else "", event.action, event.object_type,
                   event.object_id, event.path, event.ip_address or "", event.user_agent]
