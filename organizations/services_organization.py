"""Organization lifecycle: deactivating an organization closes its channels (SPEC 4.4).

Whoever changes ``Organization.is_active`` (the Django admin, a portal page, a script) calls
``organization_set_active`` or, when it saved the flag itself, ``organization_access_sync``.
The HL7 listener and the Cloud Direct worker already refuse an inactive organization's
messages; here its Redis ACL users are turned off and their open connections killed, so its
systems can no longer even write to the broker. Reactivating turns them on again (same URLs)."""
import logging

import redis
from django.db import transaction

from .models import Organization

logger = logging.getLogger(__name__)


def organization_set_active(*, organization: Organization, active: bool) -> None:
    organization.is_active = active
    organization.save(update_fields=["is_active"])
    organization_access_sync(organization=organization)


def organization_access_sync(*, organization: Organization) -> None:
    """Once the transaction commits, make the organization's Cloud Direct users follow its
    ``is_active``. When Redis cannot be reached the change is logged and the worker's periodic
    ``acl_users_sync`` applies it later."""
    pk = organization.pk
    transaction.on_commit(lambda: clouddirect_access_apply(pk))


def clouddirect_access_apply(organization_pk: int) -> bool:
    from orders.intake.clouddirect.credentials import credentials_access_apply

    organization = Organization.objects.get(pk=organization_pk)
    try:
        credentials_access_apply(organization=organization)
    except redis.RedisError as exc:
        logger.warning("Cloud Direct: could not turn the ACL users of organization %s %s (%s); the worker's "
                       "ACL sync will", organization.pk, "on" if organization.is_active else "off", exc)
        return False
    return True
