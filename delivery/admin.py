"""Django admin (platform staff) for the delivery app. Results are immutable: read-only here."""
from django import forms
from django.contrib import admin

from .models import ReportSettings, ReportTemplate, ResultDocument, ResultSet
from .results.validation import report_template_validator


class ReportTemplateForm(forms.ModelForm):
    html = forms.CharField(widget=forms.Textarea(attrs={"rows": 30}), strip=False,
                           validators=[report_template_validator])

    class Meta:
        model = ReportTemplate
        fields = "__all__"


@admin.register(ReportTemplate)
class ReportTemplateAdmin(admin.ModelAdmin):
    """Host default templates (no organization) are edited here; organizations use the editor.
    The same validation applies (unknown tokens, unsafe HTML)."""

    form = ReportTemplateForm
    list_display = ("evaluation_type", "organization", "site", "updated_at", "updated_by")
    list_filter = ("evaluation_type", "organization")
    raw_id_fields = ("organization", "site", "updated_by")
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request, obj, form, change):
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(ReportSettings)
class ReportSettingsAdmin(admin.ModelAdmin):
    list_display = ("organization", "site", "paper_size", "updated_at")
    raw_id_fields = ("organization", "site", "updated_by")


class ResultDocumentInline(admin.TabularInline):
    model = ResultDocument
    fields = ("kind", "media_type", "size", "sha256", "created_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(ResultSet)
class ResultSetAdmin(admin.ModelAdmin):
    list_display = ("pk", "order", "result_code", "grading_version", "organization", "created_at")
    list_filter = ("result_code", "organization")
    search_fields = ("order__local_id", "transaction_id")
    list_select_related = ("order", "organization")
    fields = ("organization", "order", "grading", "grading_version", "result_code", "transaction_id", "timestamp",
              "template_source", "created_at")
    readonly_fields = fields
    inlines = [ResultDocumentInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
