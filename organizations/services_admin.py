"""Writes of the organization admin pages: inviting users (a set-password link by email, never a
password), their roles and site limits, deactivating them, resetting their second factor."""
from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from .models import Organization, User
from .services import ProviderData, providers_upsert


def set_password_link(user: User) -> str:
    """A one-time link to set a password (Django's PasswordResetTokenGenerator): it stops working
    once the password is set, or after PASSWORD_RESET_TIMEOUT."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return settings.IRIS_PORTAL_URL + reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})


def set_password_link_send(*, user: User, invited_by: User | None = None) -> None:
    """Email the link (the message carries no PHI, R13)."""
    context = {"user": user, "link": set_password_link(user), "invited_by": invited_by,
               "organization": user.organization}
    send_mail(subject=f"IRIS Portal: your account at {user.organization}",
              message=render_to_string("organizations/admin_invite_email.txt", context),
              from_email=None, recipient_list=[user.email])


def _apply(user: User, *, email: str, first_name: str, last_name: str, roles: dict, pcp_npi: str) -> None:
    user.email, user.first_name, user.last_name = email, first_name, last_name
    for name, on in roles.items():
        setattr(user, name, on)
    user.provider = providers_upsert([ProviderData(pcp_npi)])[pcp_npi] if pcp_npi else None


@transaction.atomic
def user_invite(*, organization: Organization, username: str, invited_by: User, sites: list, **changes) -> User:
    user = User(username=username, organization=organization)
    _apply(user, **changes)
    user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    user.sites.set(sites)
    transaction.on_commit(lambda: set_password_link_send(user=user, invited_by=invited_by))
    return user


@transaction.atomic
def user_update(*, user: User, sites: list, **changes) -> User:
    _apply(user, **changes)
    user.full_clean(exclude=["password"])
    user.save()
    user.sites.set(sites)
    return user


def user_set_active(*, user: User, active: bool, by: User) -> None:
    if user.pk == by.pk:
        raise ValueError("You cannot deactivate yourself.")
    user.is_active = active
    user.save(update_fields=["is_active"])


def user_two_factor_reset(*, user: User) -> int:
    """Remove the user's authenticator devices (lost phone); they enrol again at next sign-in."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    deleted, _ = TOTPDevice.objects.filter(user=user).delete()
    return deleted
