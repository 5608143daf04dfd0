from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from orders import views as order_views

from . import views
from .middleware import two_factor_exempt

admin.site.site_header = "IRIS Portal administration"
admin.site.site_title = "IRIS Portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", views.SignInView.as_view(), name="login"),
    path("accounts/logout/", two_factor_exempt(auth_views.LogoutView.as_view()), name="logout"),
    path("schemas/", order_views.schema_index, name="schema-index"),
    path("schemas/<str:name>", order_views.schema_detail, name="schema-detail"),
    # One sign-in page for everyone (lockout and two-factor apply to platform staff too).
    path("admin/login/", RedirectView.as_view(pattern_name="login", query_string=True), name="admin-login"),
    path("admin/", admin.site.urls),
    path("orders/", include("orders.urls")),
    path("org/", include("organizations.urls")),
    path("grading/", include("grading.urls")),
    path("delivery/", include("delivery.urls")),
    # Frame (issue 9): patients, password reset and change, two-factor, site switcher, columns.
    path("patients/", include("patients.urls")),
    path("accounts/password-reset/", auth_views.PasswordResetView.as_view(
        email_template_name="registration/password_reset_email.txt"), name="password_reset"),
    path("accounts/password-reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("accounts/reset/<uidb64>/<token>/", auth_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("accounts/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("accounts/password/", auth_views.PasswordChangeView.as_view(), name="password_change"),
    path("accounts/password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("accounts/two-factor/", views.two_factor_verify, name="two-factor-verify"),
    path("accounts/two-factor/enrol/", views.two_factor_enrol, name="two-factor-enrol"),
    path("site/", views.site_switch, name="site-switch"),
    path("tables/columns/", views.table_columns, name="table-columns"),
]
