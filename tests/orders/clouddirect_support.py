"""Fixtures for Cloud Direct tests against the real Redis (REDIS_URL, CI's).

ACL users are server-global, so every test gets its own user-name prefix and its users are
deleted afterwards; the streams of every organization created during the test are deleted too.
Import the fixtures into a test module with ``from tests.orders.clouddirect_support import *``.
"""
import json
import os
import uuid
from dataclasses import dataclass, field

import pytest
import redis
from django.db.models.signals import post_save

from orders.intake.clouddirect.broker import stream_keys
from orders.intake.clouddirect.credentials import connection_url, credential_password, credentials_provision
from orders.intake.clouddirect.worker import CloudDirectWorker
from organizations.models import Organization
from tests.factories import OrganizationFactory, SiteFactory

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
PUBLISHER = "orders.intake.clouddirect.publisher.events_stream_publish"

__all__ = ["broker", "cd_org", "Broker", "REDIS_URL"]


@dataclass
class Broker:
    client: redis.Redis
    prefix: str
    guids: set = field(default_factory=set)

    def worker(self, **options) -> CloudDirectWorker:
        options.setdefault("min_idle_ms", 60_000)
        return CloudDirectWorker(client=self.client, consumer=options.pop("consumer", "test-worker"), **options)

    def connections(self, organization) -> tuple[redis.Redis, redis.Redis]:
        """(writer, reader) connected with the organization's own ACL users, created if needed."""
        credentials_provision(organization=organization)
        by_kind = {c.kind: c for c in organization.clouddirect_credentials.all()}
        return tuple(redis.Redis.from_url(connection_url(by_kind[kind], credential_password(by_kind[kind])))
                     for kind in ("writer", "reader"))

    def events(self, organization, reader: redis.Redis | None = None, after: str = "0-0") -> list[dict]:
        reply = (reader or self.client).xread({stream_keys(organization).events: after})
        return [json.loads(fields[b"body"]) for _, fields in reply[0][1]] if reply else []

    def pending(self, organization) -> int:
        return self.client.xpending(stream_keys(organization).orders, "iris-portal")["pending"]


@pytest.fixture
def broker(settings):
    prefix = f"t{uuid.uuid4().hex[:10]}"
    settings.IRIS_CLOUDDIRECT_REDIS_URL = REDIS_URL
    settings.IRIS_CLOUDDIRECT_PUBLIC_URL = ""
    settings.IRIS_CLOUDDIRECT_ACL_USER_PREFIX = prefix
    settings.IRIS_EVENT_PUBLISHERS = [PUBLISHER]
    state = Broker(client=redis.Redis.from_url(REDIS_URL), prefix=prefix)

    def remember(sender, instance, **kwargs):
        state.guids.add(instance.client_guid)

    post_save.connect(remember, sender=Organization, weak=False, dispatch_uid=prefix)
    yield state
    post_save.disconnect(sender=Organization, dispatch_uid=prefix)
    for user in state.client.acl_users():
        user = user.decode() if isinstance(user, bytes) else user
        if user.startswith(prefix + "-"):
            state.client.acl_deluser(user)
    for guid in state.guids:
        keys = stream_keys(guid)
        state.client.delete(keys.orders, keys.events, keys.results)
    state.client.close()


@pytest.fixture
def cd_org(broker):
    """An organization (every evaluation type) with site S-FL in Florida."""
    organization = OrganizationFactory()
    SiteFactory(organization=organization, local_id="S-FL", state="FL")
    return organization
