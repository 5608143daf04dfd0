"""Signing in (django-axes lockout, two-factor for admins), the site switcher, the column chooser."""
import base64
import io

import qrcode
import qrcode.image.svg
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_totp.models import TOTPDevice

from ..audit import audit_record
from ..forms import TokenForm
from ..middleware import SIGNIN_SESSION_KEY, two_factor_exempt
from ..site_switcher import CURRENT_SITE_SESSION_KEY, visible_sites
from ..permissions import needs_two_factor
from ..tables import save_column_choice


def safe_next(request, default: str = "/") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        return target
    return default


class SignInView(auth_views.LoginView):
    """Django's sign-in, marking the session so the two-factor requirement applies to it."""

    redirect_authenticated_user = True

    def form_valid(self, form):
        response = super().form_valid(form)
        self.request.session[SIGNIN_SESSION_KEY] = True
        audit_record(request=self.request, action="login", object_type="user", object_id=form.get_user().pk)
        return response


@two_factor_exempt
@login_required
def two_factor_verify(request):
    """Ask for the current code of the user's authenticator app."""
    if not user_has_device(request.user, confirmed=True):
        return HttpResponseRedirect(f"{reverse('two-factor-enrol')}?{request.GET.urlencode()}")
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return HttpResponseRedirect(safe_next(request))
        form.add_error("token", "That code is not valid (or too many attempts: wait a moment and try again).")
    return render(request, "registration/two_factor_verify.html", {"form": form, "next": safe_next(request, "")})


@two_factor_exempt
@login_required
def two_factor_enrol(request):
    """Set up an authenticator app: a QR code (and the secret, for typing in), then one code to
    confirm. Users who already have a device see its status."""
    user = request.user
    if user_has_device(user, confirmed=True):
        if not user.is_verified():
            return HttpResponseRedirect(f"{reverse('two-factor-verify')}?{request.GET.urlencode()}")
        return render(request, "registration/two_factor_status.html", {"required": needs_two_factor(user)})
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first() or \
        TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            device.confirmed = True
            device.save(update_fields=["confirmed"])
            otp_login(request, device)
            audit_record(request=request, action="change", object_type="two_factor_device", object_id=device.pk)
            messages.success(request, "Two-factor authentication is on.")
            return HttpResponseRedirect(safe_next(request))
        form.add_error("token", "That code does not match; check the time on your phone and try again.")
    return render(request, "registration/two_factor_enrol.html", {
        "form": form, "qr_data_uri": _qr_data_uri(device.config_url), "next": safe_next(request, ""),
        "secret": base64.b32encode(device.bin_key).decode().rstrip("="), "required": needs_two_factor(user),
    })


def _qr_data_uri(text: str) -> str:
    buffer = io.BytesIO()
    qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=2).save(buffer)
    return "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode()


@login_required
@require_POST
def site_switch(request):
    """Keep the chosen site (or none: all sites) in the session; lists and the dashboard filter by it."""
    wanted = request.POST.get("site", "")
    if not wanted:
        request.session.pop(CURRENT_SITE_SESSION_KEY, None)
    elif wanted.isdigit() and any(site.pk == int(wanted) for site in visible_sites(request)):
        request.session[CURRENT_SITE_SESSION_KEY] = int(wanted)
    else:
        messages.error(request, "That site is not one of yours.")
    return HttpResponseRedirect(safe_next(request))


@login_required
@require_POST
def table_columns(request):
    """Save the columns a user chose for one table (an empty choice restores the defaults)."""
    names = [] if "reset" in request.POST else request.POST.getlist("columns")
    if not save_column_choice(request.session, request.POST.get("table", ""), names):
        messages.error(request, "Unknown table.")
    return HttpResponseRedirect(safe_next(request))
