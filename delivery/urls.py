"""URLs of the delivery app (included from iris_portal/urls.py)."""
from django.urls import path

from . import views_pcp, views_templates

app_name = "delivery"
urlpatterns: list = []

# Results (issue 7): report templates and settings, PCP reports, documents, signed links.
urlpatterns += [
    path("templates/", views_templates.template_list, name="templates"),
    path("templates/settings/", views_templates.report_settings_edit, name="report-settings"),
    path("templates/settings/sites/<int:site_pk>/", views_templates.report_settings_edit, name="report-settings-site"),
    path("templates/<str:evaluation_type>/", views_templates.template_edit, name="template-edit"),
    path("templates/<str:evaluation_type>/sites/<int:site_pk>/", views_templates.template_edit,
         name="template-edit-site"),
    path("templates/<str:evaluation_type>/preview/", views_templates.template_preview, name="template-preview"),
    path("templates/<str:evaluation_type>/sites/<int:site_pk>/preview/", views_templates.template_preview,
         name="template-preview-site"),
    path("my-reports/", views_pcp.my_reports, name="my-reports"),
    path("my-reports/<int:pk>/report.pdf", views_pcp.my_report_pdf, name="my-report-pdf"),
    path("results/<int:pk>/<slug:kind>/", views_pcp.result_document, name="result-document"),
    path("r/<str:token>/", views_pcp.report_link, name="report-link"),
]

# Delivery (issue 8): portal pickup, delivery record actions, monitor, endpoints.
from . import views_deliveries, views_endpoints  # noqa: E402

urlpatterns += [
    path("pickup/", views_deliveries.pickup_list, name="pickup"),
    path("pickup/download/", views_deliveries.pickup_download, name="pickup-download"),
    path("monitor/", views_deliveries.monitor, name="monitor"),
    path("deliveries/<int:pk>/retry/", views_deliveries.delivery_retry_view, name="delivery-retry"),
    path("deliveries/<int:pk>/resend/", views_deliveries.delivery_resend_view, name="delivery-resend"),
    path("endpoints/", views_endpoints.endpoint_list, name="endpoints"),
    path("endpoints/new/<slug:kind>/", views_endpoints.endpoint_create, name="endpoint-create"),
    path("endpoints/<int:pk>/", views_endpoints.endpoint_edit, name="endpoint-edit"),
    path("endpoints/<int:pk>/test/", views_endpoints.endpoint_test, name="endpoint-test"),
]
