"""Django admin for platform staff: organizations (ClientGuid), sites, users and roles, providers."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from .models import (
    Department, Device, HL7Interface, HL7SiteMapping, Organization, Provider, ProviderLicense, Site, User,
)


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


@admin.register(HL7Interface)
class HL7InterfaceAdmin(admin.ModelAdmin):
    list_display = ("name", "organization", "mrn_source", "site_source", "is_active")
    inlines = [HL7SiteMappingInline]
