"""URLs of the organizations app (included from iris_portal/urls.py)."""
from django.urls import path

from . import views_clouddirect

app_name = "organizations"
urlpatterns: list = [
    path("clouddirect/", views_clouddirect.credentials, name="clouddirect-credentials"),
    path("clouddirect/create/", views_clouddirect.credentials_create, name="clouddirect-credentials-create"),
    path("clouddirect/<int:pk>/rotate/", views_clouddirect.credential_rotate, name="clouddirect-credential-rotate"),
]

# Organization admin pages (issue 9).
from . import views_admin  # noqa: E402

urlpatterns += [
    path("sites/", views_admin.SiteListView.as_view(), name="site-list"),
    path("sites/add/", views_admin.SiteEditView.as_view(), name="site-add"),
    path("sites/<int:pk>/", views_admin.SiteDetailView.as_view(), name="site-detail"),
    path("sites/<int:pk>/edit/", views_admin.SiteEditView.as_view(), name="site-edit"),
    path("departments/", views_admin.DepartmentListView.as_view(), name="department-list"),
    path("departments/add/", views_admin.DepartmentEditView.as_view(), name="department-add"),
    path("departments/<int:pk>/edit/", views_admin.DepartmentEditView.as_view(), name="department-edit"),
    path("departments/<int:pk>/delete/", views_admin.DepartmentDeleteView.as_view(), name="department-delete"),
    path("cameras/", views_admin.DeviceListView.as_view(), name="device-list"),
    path("cameras/add/", views_admin.DeviceEditView.as_view(), name="device-add"),
    path("cameras/<int:pk>/edit/", views_admin.DeviceEditView.as_view(), name="device-edit"),
    path("cameras/<int:pk>/delete/", views_admin.DeviceDeleteView.as_view(), name="device-delete"),
    path("users/", views_admin.UserListView.as_view(), name="user-list"),
    path("users/invite/", views_admin.UserEditView.as_view(), name="user-invite"),
    path("users/<int:pk>/", views_admin.UserDetailView.as_view(), name="user-detail"),
    path("users/<int:pk>/edit/", views_admin.UserEditView.as_view(), name="user-edit"),
    path("users/<int:pk>/deactivate/", views_admin.UserActionView.as_view(), {"action": "deactivate"},
         name="user-deactivate"),
    path("users/<int:pk>/activate/", views_admin.UserActionView.as_view(), {"action": "activate"}, name="user-activate"),
    path("users/<int:pk>/send-link/", views_admin.UserActionView.as_view(), {"action": "send-link"},
         name="user-send-link"),
    path("users/<int:pk>/reset-two-factor/", views_admin.UserActionView.as_view(), {"action": "reset-two-factor"},
         name="user-reset-two-factor"),
    path("audit/", views_admin.AuditLogView.as_view(), name="audit-log"),
]

# HL7 interface settings (issue 4).
from . import views_hl7  # noqa: E402

urlpatterns += [
    path("hl7/", views_hl7.HL7InterfaceListView.as_view(), name="hl7-interface-list"),
    path("hl7/add/", views_hl7.HL7InterfaceEditView.as_view(), name="hl7-interface-add"),
    path("hl7/<int:pk>/", views_hl7.HL7InterfaceDetailView.as_view(), name="hl7-interface-detail"),
    path("hl7/<int:pk>/edit/", views_hl7.HL7InterfaceEditView.as_view(), name="hl7-interface-edit"),
    path("hl7/<int:pk>/delete/", views_hl7.HL7InterfaceDeleteView.as_view(), name="hl7-interface-delete"),
]
