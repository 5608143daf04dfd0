"""Platform staff: the care-plan catalogue (all levels), gradings (read-only) and claims."""
from django.contrib import admin, messages

from orders.canonical import RequestRejected

from .models import CarePlan, CarePlanRule, EyeGrading, Grading, OrderClaim
from .services import grading_reopen


@admin.register(CarePlan)
class CarePlanAdmin(admin.ModelAdmin):
    list_display = ("evaluation_type", "key", "title", "level", "priority", "organization", "site")
    list_filter = ("evaluation_type", "level", "organization")
    search_fields = ("key", "title")


@admin.register(CarePlanRule)
class CarePlanRuleAdmin(admin.ModelAdmin):
    list_display = ("evaluation_type", "finding", "result", "plan_key", "organization", "site")
    list_filter = ("evaluation_type", "organization")
    search_fields = ("finding", "plan_key")


class EyeGradingInline(admin.TabularInline):
    model = EyeGrading
    extra = 0
    can_delete = False
    readonly_fields = ("laterality", "gradable", "ungradable_reason", "missing_eye_reason", "findings",
                       "other_text", "other_subset")


@admin.register(Grading)
class GradingAdmin(admin.ModelAdmin):
    list_display = ("order", "version", "superseded", "grader", "graded_at", "severity", "care_plan_title", "emergent")
    list_filter = ("superseded", "severity", "emergent", "urgent", "source")
    inlines = [EyeGradingInline]
    actions = ["reopen_for_correction"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description="Reopen the order for a corrected grading")
    def reopen_for_correction(self, request, queryset):
        for grading in queryset.filter(superseded=False).select_related("order"):
            try:
                grading_reopen(order=grading.order, by=request.user)
            except RequestRejected as exc:
                self.message_user(request, f"{grading.order}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{grading.order} reopened for a corrected grading.")


@admin.register(OrderClaim)
class OrderClaimAdmin(admin.ModelAdmin):
    list_display = ("order", "grader", "claimed_at", "expires_at")
