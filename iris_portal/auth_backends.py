"""Authentication backends: sign-in lockout (django-axes) and the user loader."""
from axes.backends import AxesStandaloneBackend
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import ValidationError

from .prepared import PreparedQuery

UserModel = get_user_model()


class LockoutBackend(AxesStandaloneBackend):
    """Refuses sign-ins of a locked-out username from the same address. ``authenticate()`` calls
    without a request (``Client.login`` in tests, management commands) cannot come from a
    browser, so they are passed on to the next backend instead of raising."""

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)


class PortalModelBackend(ModelBackend):
    """Django's backend, loading the user's organization with the user: every page shows and
    scopes by it, so this saves a query per request."""

    def get_user(self, user_id):
        try:
            found = _USER_WITH_ORGANIZATION(pk=UserModel._meta.pk.to_python(user_id))
        except (TypeError, ValueError, ValidationError):
            return None
        user = found[0] if found else None
        return user if user is not None and self.user_can_authenticate(user) else None


# Every request loads its user: compiled once (iris_portal.prepared).
_USER_WITH_ORGANIZATION = PreparedQuery(
    lambda pk: UserModel._default_manager.select_related("organization").filter(pk=pk).order_by("pk")[:1])
