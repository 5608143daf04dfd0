"""URLs of the orders app (included from iris_portal/urls.py)."""
from django.urls import path  # noqa: F401

app_name = "orders"
urlpatterns: list = []

# Cloud Direct dead letters (issue 3).
from . import views_clouddirect  # noqa: E402

urlpatterns += [
    path("clouddirect/dead-letters/", views_clouddirect.dead_letters, name="clouddirect-dead-letters"),
    path("clouddirect/dead-letters/<int:pk>/replay/", views_clouddirect.dead_letter_replay,
         name="clouddirect-dead-letter-replay"),
]

# Images (issue 6): upload widget/endpoint and authorised image serving.
from . import views_images  # noqa: E402

urlpatterns += [
    path("<int:order_pk>/images/", views_images.image_upload, name="image-upload"),
    path("images/<int:pk>/file", views_images.image_file, name="image-file"),
]

# Order Manager (issue 9): list, export, new order, detail, change, cancel.
from . import views_portal  # noqa: E402

urlpatterns += [
    path("", views_portal.OrderListView.as_view(), name="list"),
    path("add/", views_portal.OrderCreateView.as_view(), name="add"),
    path("<int:pk>/", views_portal.OrderDetailView.as_view(), name="detail"),
    path("<int:pk>/change/", views_portal.OrderChangeView.as_view(), name="change"),
    path("<int:pk>/cancel/", views_portal.OrderCancelView.as_view(), name="cancel"),
]

# CSV/XLSX imports (issue 5): upload with progress, history, error report, column mapping.
from . import views_imports  # noqa: E402

urlpatterns += [
    path("imports/", views_imports.imports, name="imports"),
    path("imports/mapping/", views_imports.import_mapping, name="import-mapping"),
    path("imports/mapping/preview/", views_imports.import_mapping_preview, name="import-mapping-preview"),
    path("imports/<int:pk>/", views_imports.import_detail, name="import-detail"),
    path("imports/<int:pk>/progress/", views_imports.import_progress, name="import-progress"),
    path("imports/<int:pk>/errors.csv", views_imports.import_errors_csv, name="import-errors"),
]
