from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from orders import views as order_views

from . import views

admin.site.site_header = "IRIS Portal administration"
admin.site.site_title = "IRIS Portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("schemas/", order_views.schema_index, name="schema-index"),
    path("schemas/<str:name>", order_views.schema_detail, name="schema-detail"),
    path("admin/", admin.site.urls),
    path("orders/", include("orders.urls")),
    path("org/", include("organizations.urls")),
    path("grading/", include("grading.urls")),
    path("delivery/", include("delivery.urls")),
]
