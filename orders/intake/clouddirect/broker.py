"""The Redis Streams broker: stream names per organization and the portal's own connection.

Key names use the canonical lower-case GUID text (``str(uuid.UUID(...))``), whatever case the
customer writes ClientGuid in: ``iris:63e3c9ef-66ac-4154-b0c2-494515eb99a7:orders``.
"""
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache

import redis
from redis.backoff import ExponentialBackoff
from redis.retry import Retry

from .conf import broker_url, setting

GROUP = "iris-portal"  # the one consumer group on every orders stream


@dataclass(frozen=True)
class StreamKeys:
    orders: str  # customer writes (field ``body`` = OrderRequest or GradingSubmission JSON)
    events: str  # portal writes events (OrderCreationReceipt, ImageReceipt, ...)
    results: str  # portal writes OrderResult JSON


def stream_keys(client_guid) -> StreamKeys:
    """Stream names of one organization (pass the Organization or its ClientGuid)."""
    guid = str(uuid.UUID(str(getattr(client_guid, "client_guid", client_guid))))
    return StreamKeys(orders=f"iris:{guid}:orders", events=f"iris:{guid}:events", results=f"iris:{guid}:results")


@lru_cache(maxsize=8)
def _client(url: str) -> redis.Redis:
    # socket_timeout must exceed the worker's XREADGROUP BLOCK time. Fail fast when Redis is
    # down: web requests publish events after commit, and the outbox sweep catches up later.
    return redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=2, health_check_interval=0,
                                retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 1))


def broker_client() -> redis.Redis:
    """The portal's connection (thread-safe pool), from IRIS_CLOUDDIRECT_REDIS_URL / REDIS_URL."""
    url = broker_url()
    if not url:
        raise redis.ConnectionError("Cloud Direct is not configured: set REDIS_URL or IRIS_CLOUDDIRECT_REDIS_URL")
    return _client(url)


def broker_db() -> int:
    """The database number the streams live in (ACL users need +select when it is not 0)."""
    return int(broker_client().connection_pool.connection_kwargs.get("db") or 0)


def retention_min_id() -> str:
    """Stream id below which events/results are trimmed (XADD ... MINID ~ id)."""
    cutoff_ms = int((time.time() - setting("IRIS_CLOUDDIRECT_RETENTION_DAYS") * 86400) * 1000)
    return f"{max(cutoff_ms, 0)}-0"


def stream_add(client, key: str, *, body: str, type: str) -> None:
    """XADD one portal message (fields ``type`` and ``body``) and trim entries past retention.
    ``client`` may be a pipeline."""
    client.xadd(key, {"type": type, "body": body}, minid=retention_min_id(), approximate=True)
