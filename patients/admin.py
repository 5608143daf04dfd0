from django.contrib import admin

from .models import Patient


@admin.register(Patient)
class PatientAdmin(admin.ModelAdmin):
    list_display = ("local_id", "last_name", "first_name", "dob", "site", "organization")
    list_filter = ("organization",)
    search_fields = ("local_id", "last_name", "first_name")
    list_select_related = ("site", "organization")
    readonly_fields = ("floating", "created_at", "updated_at")
