"""URLs of the grading app (included from iris_portal/urls.py)."""
from django.urls import path

from . import views, views_careplans

app_name = "grading"
urlpatterns: list = [
    path("", views.queue, name="queue"),
    path("orders/<int:pk>/", views.order_grade, name="order"),
    path("orders/<int:pk>/claim/", views.claim, name="claim"),
    path("orders/<int:pk>/release/", views.release, name="release"),
    path("orders/<int:pk>/reopen/", views.reopen, name="reopen"),
    path("care-plans/", views_careplans.care_plans, name="care-plans"),
    path("care-plans/plan/", views_careplans.care_plan_save, name="care-plan-save"),
    path("care-plans/plan/reset/", views_careplans.care_plan_reset, name="care-plan-reset"),
    path("care-plans/rule/", views_careplans.care_plan_rule_save, name="care-plan-rule-save"),
]
