"""URLs of the grading app (included from iris_portal/urls.py)."""
from django.urls import path  # noqa: F401

app_name = "grading"
urlpatterns: list = []
