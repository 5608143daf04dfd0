"""Per-organization Redis ACL users: created, rotated and (after a Redis restart) re-created by
the portal. Verified against Redis 7.0:

- writer: ``%W~iris:<guid>:orders +xadd``. It cannot PING (so customer clients must not
  health-check), read anything, or touch another organization's keys.
- reader: ``%R~iris:<guid>:events %R~iris:<guid>:results`` with XREAD, XRANGE, XREVRANGE, XLEN
  and XINFO STREAM. It cannot XREADGROUP (that writes to a consumer group), XADD, XDEL or XTRIM.
- both get ``+select`` only when the streams live in a database other than 0, because redis-py
  sends SELECT while connecting (its CLIENT SETINFO is sent too, but a refusal is ignored).

Rotation replaces the password at once and disconnects the user's open connections (a Redis
password change alone does not), so the old URL stops working immediately.

An inactive organization's users are ``off`` (Redis refuses to authenticate them) and their
open connections are killed; reactivating turns them back on with the same URLs
(``credentials_access_apply``, called by organizations.services.organization_set_active).
"""
import logging
import base64
import hashlib
import secrets
from urllib.parse import quote, urlsplit

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from organizations.models import CloudDirectCredential, Organization

from .broker import broker_client, broker_db, stream_keys
from .conf import broker_url, setting

logger = logging.getLogger(__name__)

Kind = CloudDirectCredential.Kind
READER_COMMANDS = ("+xread", "+xrange", "+xrevrange", "+xlen", "+xinfo|stream")


def acl_username(organization: Organization, kind: str) -> str:
    return f"{setting('IRIS_CLOUDDIRECT_ACL_USER_PREFIX')}-{organization.client_guid}-{kind}"


def acl_rules(organization: Organization, kind: str, *, db: int) -> list[str]:
    """ACL SETUSER rules after ``reset`` (everything off, no keys, no channels, no commands)."""
    keys = stream_keys(organization)
    if kind == Kind.WRITER:
        rules = [f"%W~{keys.orders}", "+xadd"]
    else:
        rules = [f"%R~{keys.events}", f"%R~{keys.results}", *READER_COMMANDS]
    return ["on" if organization.is_active else "off", *rules, *(["+select"] if db else [])]


def credentials_rotate(*, organization: Organization, kind: str, actor=None) -> tuple[CloudDirectCredential, str]:
    """Create or rotate one ACL user; returns the credential and its new password. Redis is
    changed inside the database transaction: if Redis refuses, nothing changes."""
    password = secrets.token_urlsafe(32)
    with transaction.atomic():
        credential = (
            CloudDirectCredential.objects.select_for_update().filter(organization=organization, kind=kind).first()
            or CloudDirectCredential(organization=organization, kind=kind, username=acl_username(organization, kind)))
        credential.password_sha256 = hashlib.sha256(password.encode()).hexdigest()
        credential.password_encrypted = _fernet().encrypt(password.encode()).decode()
        credential.rotated_at = timezone.now()
        credential.rotated_by = actor
        credential.save()
        _acl_apply(credential)
        broker_client().execute_command("CLIENT", "KILL", "USER", credential.username)
    return credential, password


def credentials_provision(*, organization: Organization, actor=None) -> list[CloudDirectCredential]:
    """Create whichever of the two users the organization does not have yet."""
    existing = set(organization.clouddirect_credentials.values_list("kind", flat=True))
    return [credentials_rotate(organization=organization, kind=kind, actor=actor)[0]
            for kind in Kind.values if kind not in existing]


def credentials_access_apply(*, organization: Organization) -> int:
    """Make the organization's ACL users follow ``organization.is_active``: on, or off with
    their open connections killed (``off`` alone only refuses new authentications). Under the
    credentials' row locks, so a concurrent rotation is never overwritten. Returns how many
    users were changed."""
    with transaction.atomic():
        credentials = list(CloudDirectCredential.objects.select_for_update().filter(organization=organization))
        if not credentials:
            return 0
        client = broker_client()
        for credential in credentials:
            credential.organization = organization
            _acl_apply(credential)
            if not organization.is_active:
                client.execute_command("CLIENT", "KILL", "USER", credential.username)
    logger.info("Cloud Direct: %s ACL user(s) of organization %s turned %s", len(credentials), organization.pk,
                "on" if organization.is_active else "off")
    return len(credentials)


def acl_users_sync() -> int:
    """Bring Redis in line with the database (run by the worker's maintenance): re-create the
    users of active organizations that Redis no longer has (ACL SETUSER is not in the AOF/RDB:
    a restart without an aclfile forgets them), and turn users on or off where the
    organization's state changed while Redis could not be told. Only the on/off flag of an
    existing user is touched (never its password), so a concurrent rotation is never
    overwritten. Returns how many users were changed."""
    credentials = list(CloudDirectCredential.objects.select_related("organization"))
    if not credentials:
        return 0
    client = broker_client()
    pipe = client.pipeline(transaction=False)
    for credential in credentials:
        pipe.execute_command("ACL", "GETUSER", credential.username)
    changed = 0
    for credential, found in zip(credentials, pipe.execute()):
        active = credential.organization.is_active
        if found is None:
            if active:
                _acl_apply(credential)
                changed += 1
            continue
        if _is_on(found) != active:
            client.execute_command("ACL", "SETUSER", credential.username, "on" if active else "off")
            if not active:
                client.execute_command("CLIENT", "KILL", "USER", credential.username)
            changed += 1
    return changed


def _is_on(getuser_reply) -> bool:
    """Whether an ACL GETUSER reply (a flat list, or a dict with RESP3) has the ``on`` flag."""
    reply = getuser_reply
    if isinstance(reply, (list, tuple)):
        reply = dict(zip(reply[::2], reply[1::2]))
    flags = reply.get(b"flags", reply.get("flags", []))
    return any((flag.decode() if isinstance(flag, bytes) else flag) == "on" for flag in flags)


def credential_password(credential: CloudDirectCredential) -> str | None:
    """The password, or None when it cannot be decrypted (SECRET_KEY changed without keeping
    the old one in SECRET_KEY_FALLBACKS): rotate to get a new one."""
    try:
        return _fernet().decrypt(credential.password_encrypted.encode()).decode()
    except InvalidToken:
        return None


def connection_url(credential: CloudDirectCredential, password: str) -> str:
    """The redis:// (or rediss://) URL a customer uses: IRIS_CLOUDDIRECT_PUBLIC_URL's scheme,
    host, port and database (default: the portal's broker URL), with this user's credentials."""
    base = urlsplit(getattr(settings, "IRIS_CLOUDDIRECT_PUBLIC_URL", "") or broker_url())
    host = base.hostname or "localhost"
    host = f"[{host}]" if ":" in host else host
    db = base.path.strip("/") or "0"
    user_info = f"{quote(credential.username, safe='')}:{quote(password, safe='')}"
    return f"{base.scheme or 'redis'}://{user_info}@{host}:{base.port or 6379}/{db}"


def _acl_apply(credential: CloudDirectCredential) -> None:
    rules = acl_rules(credential.organization, credential.kind, db=broker_db())
    broker_client().execute_command("ACL", "SETUSER", credential.username, "reset", *rules,
                                    f"#{credential.password_sha256}")


def _fernet() -> MultiFernet:
    """Fernet keys derived (HKDF-SHA256) from SECRET_KEY and its fallbacks: encrypt with the
    current key, decrypt with any."""
    secrets_ = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return MultiFernet([Fernet(base64.urlsafe_b64encode(
        HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"iris-portal clouddirect credentials v1")
        .derive(secret.encode()))) for secret in secrets_])
