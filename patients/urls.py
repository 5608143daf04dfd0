"""URLs of the patients app (included from iris_portal/urls.py at /patients/)."""
from django.urls import path

from . import views

app_name = "patients"
urlpatterns = [
    path("", views.PatientListView.as_view(), name="list"),
    path("add/", views.PatientEditView.as_view(), name="add"),
    path("<int:pk>/", views.PatientDetailView.as_view(), name="detail"),
    path("<int:pk>/edit/", views.PatientEditView.as_view(), name="edit"),
]
