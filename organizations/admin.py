"""Django admin for platform staff: organizations (ClientGuid), sites, users and roles, providers,
HL7 interfaces, Cloud Direct credentials (secrets never shown; rotation through the service)."""
import redis
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from iris_portal.audit import audit_record

from .models import (
    CloudDirectCredential, Department, Device, HL7Interface, HL7SiteMapping, Organization, Provider, ProviderLicense,
    Site, User,
)
from .selectors_hl7 import hl7_sender_conflicts
from .services_organization import organization_access_sync, organization_set_active


class SiteInline(admin.TabularInline):
    model = Site
    fields = ("local_id", "name", "city", "state", "is_active")
    extra = 0
    show_change_link = True


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "client_guid", "is_host", "patient_scope", "is_active")
    list_filter = ("is_host", "patient_scope", "is_active")
    search_fields = ("name", "client_guid")
    readonly_fields = ("created_at",)
    inlines = [SiteInline]
    actions = ["deactivate", "activate"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "is_active" in form.changed_data:
            organization_access_sync(organization=obj)  # Cloud Direct users follow is_active

    @admin.action(description="Deactivate selected organizations (turns their Cloud Direct users off)",
                  permissions=["change"])
    def deactivate(self, request, queryset):
        self._set_active(request, queryset, False)

    @admin.action(description="Activate selected organizations", permissions=["change"])
    def activate(self, request, queryset):
        self._set_active(request, queryset, True)

    def _set_active(self, request, queryset, active: bool) -> None:
        changed = [organization for organization in queryset if organization.is_active != active]
        for organization in changed:
            organization_set_active(organization=organization, active=active)
            self.log_change(request, organization, [{"changed": {"fields": ["is_active"]}}])
        self.message_user(request, f"{len(changed)} organization(s) {'activated' if active else 'deactivated'}.")


class DepartmentInline(admin.TabularInline):
    model = Department
    extra = 0


class DeviceInline(admin.TabularInline):
    model = Device
    extra = 0


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ("local_id", "name", "organization", "city", "state", "is_active")
    list_filter = ("state", "is_active", "organization")
    search_fields = ("local_id", "name", "organization__name")
    list_select_related = ("organization",)
    inlines = [DepartmentInline, DeviceInline]


@admin.register(Department)
class DepartmentAdmin(admin.ModelAdmin):
    list_display = ("local_id", "name", "site")
    search_fields = ("local_id", "name")
    list_select_related = ("site",)


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    list_display = ("local_id", "serial_number", "manufacturer", "model", "site")
    search_fields = ("local_id", "serial_number")
    list_select_related = ("site",)


class ProviderLicenseInline(admin.TabularInline):
    model = ProviderLicense
    extra = 1


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("npi", "last_name", "first_name", "degrees", "email")
    search_fields = ("npi", "last_name", "first_name")
    inlines = [ProviderLicenseInline]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    list_display = ("username", "email", "organization", "is_active", "is_staff")
    list_filter = ("organization", "is_staff", "is_active", "is_clinic_staff", "is_org_admin",
                   "is_integration_admin", "is_grader", "is_pcp", "is_ai_service")
    list_select_related = ("organization",)
    fieldsets = BaseUserAdmin.fieldsets + (
        ("Organization and roles", {"fields": (
            "organization", "is_clinic_staff", "is_org_admin", "is_integration_admin", "is_grader", "is_pcp",
            "is_ai_service", "sites", "provider",
        )}),
    )
    add_fieldsets = BaseUserAdmin.add_fieldsets + (
        ("Organization and roles", {"fields": ("organization", "is_clinic_staff", "is_org_admin")}),
    )
    filter_horizontal = ("sites", "groups", "user_permissions")
    autocomplete_fields = ("provider",)


class HL7SiteMappingInline(admin.TabularInline):
    model = HL7SiteMapping
    extra = 1
    autocomplete_fields = ("site",)


class HL7InterfaceAdminForm(forms.ModelForm):
    class Meta:
        model = HL7Interface
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("is_active") and cleaned.get("sending_facilities"):
            conflicts = hl7_sender_conflicts(applications=cleaned.get("sending_applications") or [],
                                             facilities=cleaned["sending_facilities"], exclude_pk=self.instance.pk)
            if conflicts:
                raise forms.ValidationError(f"{conflicts[0]} already accepts this MSH-3/MSH-4; a sender must "
                                            "identify one organization.")
        return cleaned


@admin.register(HL7Interface)
class HL7InterfaceAdmin(admin.ModelAdmin):
    form = HL7InterfaceAdminForm
    list_display = ("name", "organization", "mrn_source", "site_source", "is_active")
    list_filter = ("is_active", "organization")
    list_select_related = ("organization",)
    inlines = [HL7SiteMappingInline]


@admin.register(CloudDirectCredential)
class CloudDirectCredentialAdmin(admin.ModelAdmin):
    """Read-only: the password (hash and encrypted copy) is never shown, not even to staff; the
    organization's integration administrators see the URL in the portal. Staff can rotate."""

    list_display = ("username", "organization", "kind", "rotated_at", "rotated_by")
    list_filter = ("kind",)
    search_fields = ("username", "organization__name", "organization__client_guid")
    list_select_related = ("organization", "rotated_by")
    fields = ("organization", "kind", "username", "rotated_at", "rotated_by", "created_at")
    readonly_fields = fields
    actions = ["rotate"]

    def has_add_permission(self, request):
        return False  # created by the service (portal page), which also creates the Redis user

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # would leave the Redis user behind

    def has_rotate_permission(self, request):
        return request.user.has_perm("organizations.change_clouddirectcredential")

    @admin.action(description="Rotate: issue new passwords (old URLs stop working at once)", permissions=["rotate"])
    def rotate(self, request, queryset):
        from orders.intake.clouddirect.credentials import credentials_rotate

        rotated = 0
        for credential in queryset.select_related("organization"):
            try:
                credentials_rotate(organization=credential.organization, kind=credential.kind, actor=request.user)
            except redis.RedisError:
                self.message_user(request, "The Cloud Direct broker (Redis) is unreachable; "
                                           f"{credential.username} was not rotated.", messages.ERROR)
                continue
            audit_record(request=request, action="rotate", object_type="clouddirect_credential",
                         object_id=credential.pk)
            self.log_change(request, credential, "Rotated the password.")
            rotated += 1
        if rotated:
            self.message_user(request, f"Rotated {rotated} credential(s); give the new URLs (portal: Integrations "
                                       "→ Cloud Direct) to the organization.", messages.SUCCESS)
