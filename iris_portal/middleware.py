"""Portal middleware: the two-factor requirement, security headers, sliding session expiry."""
import time

from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.functional import LazyObject, empty
from django.utils.http import urlencode

from .permissions import needs_two_factor

# Set by the portal's sign-in view on every session it starts (see TwoFactorMiddleware).
SIGNIN_SESSION_KEY = "portal_signin"


def two_factor_exempt(view):
    """Views a signed-in but not yet verified user must still reach (verify, enrol, sign out)."""
    view.two_factor_exempt = True
    return view


class TwoFactorMiddleware:
    """Organization admins and platform staff must verify a TOTP device (django-otp) before any
    other page. Applies to sessions started by the portal's sign-in page (the one interactive
    sign-in path; the admin's login redirects there). With ``IRIS_OTP_STRICT`` it applies to every
    session, also ones created programmatically (``Client.force_login`` in tests)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        _unwrap_user(request)
        if getattr(view_func, "two_factor_exempt", False) or not two_factor_pending(request):
            return None
        from django_otp import user_has_device

        target = "two-factor-verify" if user_has_device(request.user, confirmed=True) else "two-factor-enrol"
        return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()})}")


def _unwrap_user(request) -> None:
    """Every view reads the user (at least this middleware does): ``request.user`` becomes the
    user itself instead of the lazy wrappers the auth and OTP middleware put there, whose every
    attribute access went through a proxy (~4 % of an order page)."""
    user = getattr(request, "user", None)
    if isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        request.user = user._wrapped
        if isinstance(request.user, LazyObject):  # a lazy user inside the OTP middleware's
            _unwrap_user(request)


def two_factor_pending(request) -> bool:
    """Signed in, needs a second factor, and has not given it in this session."""
    user = request.user
    if not user.is_authenticated or not needs_two_factor(user):
        return False
    if not (settings.IRIS_OTP_STRICT or request.session.get(SIGNIN_SESSION_KEY)):
        return False
    return not user.is_verified()


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy on every response (Django 5.2 has no CSP).
    A view that allows same-origin framing (``xframe_options_sameorigin``, e.g. an inline PDF)
    gets ``frame-ancestors 'self'`` to match; place this middleware before XFrameOptionsMiddleware."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        policy = settings.IRIS_CONTENT_SECURITY_POLICY
        if policy and "Content-Security-Policy" not in response:
            if response.get("X-Frame-Options", "").upper() == "SAMEORIGIN":
                policy = policy.replace("frame-ancestors 'none'", "frame-ancestors 'self'")
            response["Content-Security-Policy"] = policy
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        return response


class SessionRefreshMiddleware:
    """The idle timeout: a session expires SESSION_COOKIE_AGE after the last request. Instead of
    saving the session on every request (SESSION_SAVE_EVERY_REQUEST: an UPDATE and a commit per
    page view), it is saved when its expiry was last pushed back more than
    ``IRIS_SESSION_REFRESH_SECONDS`` (60) ago, so the timeout is exact to within that. Place it
    right after SessionMiddleware."""

    KEY = "_refreshed_at"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        session = getattr(request, "session", None)
        if session is not None and not session.is_empty():
            now = int(time.time())
            if now - session.get(self.KEY, 0) >= getattr(settings, "IRIS_SESSION_REFRESH_SECONDS", 60):
                session[self.KEY] = now
        return response
