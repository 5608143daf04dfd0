"""Security basics: sign-in lockout (django-axes), two-factor for organization admins and
platform staff (django-otp), password reset by email, session expiry, the admin's sign-in, and a
clean `manage.py check --deploy` under production settings."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from iris_portal.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

from .otp_support import totp_code

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password, **extra})


# Lockout -----------------------------------------------------------------------------------------

def test_repeated_bad_passwords_lock_the_account(client, clinic_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = sign_in(client, clinic_user.username, "wrong-password")
        assert response.status_code == 200 and response.context["form"].errors
    locked = sign_in(client, clinic_user.username, "wrong-password")
    assert locked.status_code == 429 and b"Too many failed sign-ins" in locked.content
    # even the right password is refused while locked
    assert sign_in(client, clinic_user.username).status_code == 429
    assert "_auth_user_id" not in client.session


def test_lockout_is_per_username_and_address(client, clinic_user, org, settings):
    other = UserFactory(organization=org)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(client, clinic_user.username, "wrong-password")
    assert sign_in(client, other.username).status_code == 302
    assert sign_in(client, clinic_user.username, REMOTE_ADDR="10.9.8.7").status_code == 302


def test_a_good_sign_in_resets_the_failure_count(client, clinic_user, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, clinic_user.username, "wrong-password")
    assert sign_in(client, clinic_user.username).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        sign_in(client, clinic_user.username, "wrong-password")
    assert sign_in(client, clinic_user.username).status_code == 302


def test_sign_in_is_audited(client, clinic_user):
    sign_in(client, clinic_user.username)
    assert AuditEvent.objects.filter(user=clinic_user, action="login").exists()


# Two-factor --------------------------------------------------------------------------------------

def test_org_admin_must_enrol_then_verify(client, org_admin):
    response = sign_in(client, org_admin.username)
    assert response.status_code == 302
    page = client.get("/")
    assert page.status_code == 302 and page.url.startswith(reverse("two-factor-enrol"))
    assert client.get(reverse("organizations:site-list")).url.startswith(reverse("two-factor-enrol"))

    enrol = client.get(page.url)
    assert enrol.context["qr_data_uri"].startswith("data:image/svg+xml;base64,")
    device = TOTPDevice.objects.get(user=org_admin, confirmed=False)
    assert enrol.context["secret"] and re.fullmatch(r"[A-Z2-7]+", enrol.context["secret"])
    bad = client.post(reverse("two-factor-enrol"), {"token": "000000", "next": "/"})
    assert bad.status_code == 200 and bad.context["form"].errors
    device.refresh_from_db()
    device.throttle_reset()  # a failed code delays the next try (django-otp throttling)
    done = client.post(reverse("two-factor-enrol"), {"token": totp_code(device), "next": "/org/sites/"})
    assert done.status_code == 302 and done.url == "/org/sites/"
    assert client.get(reverse("organizations:site-list")).status_code == 200

    client.post(reverse("logout"))
    sign_in(client, org_admin.username)
    page = client.get("/")
    assert page.url.startswith(reverse("two-factor-verify"))
    assert client.post(reverse("two-factor-verify"), {"token": "123456"}).context["form"].errors
    device.refresh_from_db()
    device.throttle_reset()
    verified = client.post(reverse("two-factor-verify"), {"token": totp_code(device, steps_ahead=1), "next": "/"})
    assert verified.status_code == 302 and client.get("/").status_code == 200


def test_platform_staff_need_two_factor_too(client, org):
    staff = UserFactory(organization=org, is_clinic_staff=False, is_staff=True)
    sign_in(client, staff.username)
    assert client.get(reverse("admin:index")).url.startswith(reverse("two-factor-enrol"))


def test_clinic_staff_are_not_asked_for_a_second_factor(client, clinic_user):
    sign_in(client, clinic_user.username)
    assert client.get("/").status_code == 200


def test_a_role_granted_mid_session_requires_two_factor_at_once(client, clinic_user):
    sign_in(client, clinic_user.username)
    assert client.get("/").status_code == 200
    clinic_user.is_org_admin = True
    clinic_user.save()
    assert client.get("/").url.startswith(reverse("two-factor-enrol"))


def test_strict_mode_applies_to_every_session(client, org_admin, settings):
    settings.IRIS_OTP_STRICT = True
    client.force_login(org_admin)
    assert client.get("/").url.startswith(reverse("two-factor-enrol"))


def test_the_admin_sign_in_page_is_the_portal_one(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response.url == "/accounts/login/?next=/admin/"


# Password reset ----------------------------------------------------------------------------------

def test_password_reset_by_email(client, clinic_user):
    response = client.post(reverse("password_reset"), {"email": clinic_user.email})
    assert response.status_code == 302 and len(mail.outbox) == 1
    link = re.search(r"https?://testserver(/accounts/reset/\S+)", mail.outbox[0].body).group(1)
    form_url = client.get(link).url
    response = client.post(form_url, {"new_password1": "brand-new-secret-77", "new_password2": "brand-new-secret-77"})
    assert response.status_code == 302
    assert sign_in(client, clinic_user.username, "brand-new-secret-77").status_code == 302


def test_password_reset_does_not_reveal_unknown_addresses(client):
    response = client.post(reverse("password_reset"), {"email": "nobody@example.org"})
    assert response.status_code == 302 and not mail.outbox


# Sessions and deploy checks ---------------------------------------------------------------------

def test_sessions_expire_when_idle(clinic, monkeypatch):
    """The age counts from the last request, pushed back at most every IRIS_SESSION_REFRESH_SECONDS
    (not a session write on every page view)."""
    from django.contrib.sessions.models import Session

    from iris_portal import middleware

    assert django_settings.SESSION_COOKIE_HTTPONLY
    now = [1_000_000]
    monkeypatch.setattr(middleware.time, "time", lambda: now[0])

    def expires():
        return Session.objects.get(session_key=clinic.session.session_key).expire_date

    clinic.get("/")
    first = expires()
    assert 0 < clinic.session.get_expiry_age() <= django_settings.SESSION_COOKIE_AGE
    now[0] += django_settings.IRIS_SESSION_REFRESH_SECONDS - 1
    clinic.get("/")
    assert expires() == first  # within the refresh interval: no session write
    now[0] += 1
    clinic.get("/")
    assert expires() > first  # pushed back: the idle timeout counts from this request


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "DEBUG"))}
    env.update({
        "DJANGO_SETTINGS_MODULE": "iris_portal.settings", "DEBUG": "0",
        "SECRET_KEY": "x" * 20 + "production-secret-key-for-the-check-0123456789",
        "ALLOWED_HOSTS": "portal.example.org", "SECURE_SSL_REDIRECT": "1", "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1", "SECURE_HSTS_PRELOAD": "1", "SECURE_PROXY_SSL_HEADER_ENABLED": "1",
    })
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
