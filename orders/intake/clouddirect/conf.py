"""Cloud Direct tunables. Each is a Django setting with a default here, so settings.py only
carries the two an operator must think about (the broker URLs).

| setting | default | meaning |
| --- | --- | --- |
| IRIS_CLOUDDIRECT_REDIS_URL | REDIS_URL | the broker the portal uses (an admin user: ACL SETUSER, CLIENT KILL) |
| IRIS_CLOUDDIRECT_PUBLIC_URL | the above, without credentials | host/port/TLS shown to customers |
| IRIS_CLOUDDIRECT_ACL_USER_PREFIX | "iris" | ACL user names are ``<prefix>-<guid>-writer`` / ``-reader`` |
| IRIS_CLOUDDIRECT_MAX_ATTEMPTS | 5 | failed processing attempts before a message is dead-lettered |
| IRIS_CLOUDDIRECT_MIN_IDLE_MS | 60000 | a pending message idle this long is reclaimed (XAUTOCLAIM) and retried |
| IRIS_CLOUDDIRECT_RETENTION_DAYS | 14 | events/results stream entries older than this are trimmed |
| IRIS_CLOUDDIRECT_SWEEP_GRACE_SECONDS | 15 | the outbox sweep leaves younger events to the on-commit publisher |
| IRIS_CLOUDDIRECT_MAINTENANCE_SECONDS | 30 | how often the worker refreshes groups and ACL users and sweeps events |
"""
from django.conf import settings

DEFAULTS = {
    "IRIS_CLOUDDIRECT_ACL_USER_PREFIX": "iris",
    "IRIS_CLOUDDIRECT_MAX_ATTEMPTS": 5,
    "IRIS_CLOUDDIRECT_MIN_IDLE_MS": 60_000,
    "IRIS_CLOUDDIRECT_RETENTION_DAYS": 14,
    "IRIS_CLOUDDIRECT_SWEEP_GRACE_SECONDS": 15,
    "IRIS_CLOUDDIRECT_MAINTENANCE_SECONDS": 30,
}


def setting(name: str):
    return getattr(settings, name, DEFAULTS.get(name))


def broker_url() -> str:
    return getattr(settings, "IRIS_CLOUDDIRECT_REDIS_URL", "") or getattr(settings, "REDIS_URL", "")
