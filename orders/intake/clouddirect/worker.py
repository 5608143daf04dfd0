"""The consumer-group worker behind ``manage.py clouddirect_worker``.

One consumer group (``iris-portal``) on every active organization's orders stream; each worker
process is one consumer named host-pid. An entry is acknowledged (XACK, then XDEL: the inbox row
is the durable copy) only after it is stored and processed and the transaction has committed.
Entries a dead consumer left pending, and entries whose processing failed, are reclaimed with
XAUTOCLAIM once idle for ``min_idle_ms``. Every ``maintenance_seconds`` the worker picks up new
organizations, re-creates missing consumer groups and ACL users (a Redis restart without
persistence), publishes events the on-commit publisher could not send, and forgets consumers
that have been gone for an hour.
"""
import logging
import os
import socket
import threading
import time

import redis
from django.db import close_old_connections

from iris_portal.stack_reserve import reserved_stack_call
from organizations.models import Organization

from .broker import GROUP, broker_client, stream_keys
from .conf import setting
from .credentials import acl_users_sync
from .intake import stream_messages_process
from .publisher import events_publish_deferred, events_unpublished_sweep

logger = logging.getLogger(__name__)

GONE_CONSUMER_IDLE_MS = 3600_000


def consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class CloudDirectWorker:
    def __init__(self, *, client: redis.Redis | None = None, consumer: str | None = None, count: int = 50,
                 block_ms: int = 1000, min_idle_ms: int | None = None, max_attempts: int | None = None,
                 maintenance_seconds: float | None = None):
        self.client = client or broker_client()
        self.consumer = consumer or consumer_name()
        self.count = count
        self.block_ms = block_ms
        self.min_idle_ms = setting("IRIS_CLOUDDIRECT_MIN_IDLE_MS") if min_idle_ms is None else min_idle_ms
        self.max_attempts = max_attempts or setting("IRIS_CLOUDDIRECT_MAX_ATTEMPTS")
        self.maintenance_seconds = maintenance_seconds or setting("IRIS_CLOUDDIRECT_MAINTENANCE_SECONDS")
        self.streams: dict[str, Organization] = {}
        self._maintain_at = 0.0
        self._reclaim_at = 0.0

    # -- loops ------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Until ``stop`` is set. A batch in hand is finished before stopping."""
        logger.info("clouddirect worker %s started", self.consumer)
        while not stop.is_set():
            try:
                self.step()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                logger.warning("clouddirect worker: broker unavailable (%s); retrying", type(exc).__name__)
                stop.wait(1.0)
            except Exception:  # noqa: BLE001 - a database outage etc.: log, back off, go on
                logger.exception("clouddirect worker: step failed; retrying")
                close_old_connections()
                stop.wait(1.0)
        logger.info("clouddirect worker %s stopped", self.consumer)

    def step(self) -> int:
        close_old_connections()
        now = time.monotonic()
        handled = 0
        if now >= self._maintain_at:
            self.maintain()
            self._maintain_at = now + self.maintenance_seconds
        if now >= self._reclaim_at:
            handled += self.reclaim()
            self._reclaim_at = now + max(self.min_idle_ms / 2000, 1.0)
        return handled + self.poll(block_ms=self.block_ms)

    def run_once(self) -> int:
        """Batch mode (``--once``, tests): maintenance, reclaim, then read until no entry is
        left. Returns how many entries were handled."""
        self.maintain()
        handled = self.reclaim()
        while batch := self.poll(block_ms=None):
            handled += batch
        return handled

    # -- parts ------------------------------------------------------------------------------

    def maintain(self) -> None:
        organizations = Organization.objects.filter(is_active=True).only("pk", "client_guid")
        self.streams = {stream_keys(org).orders: org for org in organizations}
        self._groups_ensure()
        for task in (acl_users_sync, events_unpublished_sweep, self._gone_consumers_forget):
            try:
                task()
            except Exception:  # noqa: BLE001 - one failing chore must not stop intake
                logger.exception("clouddirect maintenance: %s failed", task.__name__)

    def poll(self, *, block_ms: int | None) -> int:
        """One XREADGROUP over every orders stream; handles what it gets."""
        if not self.streams:
            if block_ms:
                time.sleep(block_ms / 1000)
            return 0
        try:
            reply = self.client.xreadgroup(GROUP, self.consumer, {key: ">" for key in self.streams},
                                           count=self.count, block=block_ms)
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            self._groups_ensure()  # the stream or group vanished (Redis restarted empty)
            return 0
        return sum(reserved_stack_call(self._handle, _text(key), entries) for key, entries in reply or [])

    def reclaim(self) -> int:
        """XAUTOCLAIM entries idle for min_idle_ms (a dead consumer's, or ones that failed)."""
        handled = 0
        for key in list(self.streams):
            cursor = "0-0"
            while True:
                try:
                    cursor, entries, *deleted = self.client.xautoclaim(key, GROUP, self.consumer, self.min_idle_ms,
                                                                       cursor, count=self.count)
                except redis.ResponseError as exc:
                    if "NOGROUP" not in str(exc):
                        raise
                    break
                if deleted and deleted[0]:
                    logger.warning("clouddirect %s: %d pending entries were trimmed before processing",
                                   key, len(deleted[0]))
                handled += reserved_stack_call(self._handle, _text(key), entries)
                if _text(cursor) == "0-0":
                    break
        return handled

    # -- helpers ----------------------------------------------------------------------------

    def _handle(self, key: str, entries) -> int:
        organization = self.streams.get(key)
        if organization is None or not entries:
            return 0
        done = [_text(entry_id) for entry_id, fields in entries if not fields]  # deleted while pending
        batch = [(_text(entry_id), {_text(name): value for name, value in fields.items()})
                 for entry_id, fields in entries if fields]
        if batch:
            try:
                with events_publish_deferred():
                    done += stream_messages_process(organization=organization, messages=batch,
                                                    max_attempts=self.max_attempts)
            except Exception:  # noqa: BLE001 - nothing committed: all stay pending, reclaimed later
                logger.exception("clouddirect org %s: batch of %d not processed; left pending",
                                 organization.pk, len(batch))
                close_old_connections()
        if done:
            self._ack(key, done)
        return len(entries)

    def _ack(self, key: str, message_ids: list[str]) -> None:
        pipe = self.client.pipeline(transaction=True)
        pipe.xack(key, GROUP, *message_ids)
        pipe.xdel(key, *message_ids)
        pipe.execute()

    def _groups_ensure(self) -> None:
        pipe = self.client.pipeline(transaction=False)
        for key in self.streams:
            pipe.xgroup_create(key, GROUP, id="0", mkstream=True)
        for result in pipe.execute(raise_on_error=False):
            if isinstance(result, Exception) and "BUSYGROUP" not in str(result):
                raise result

    def _gone_consumers_forget(self) -> None:
        keys = list(self.streams)
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.xinfo_consumers(key, GROUP)
        for key, consumers in zip(keys, pipe.execute(raise_on_error=False)):
            if isinstance(consumers, Exception):
                continue
            for consumer in consumers:
                name = _text(consumer["name"])
                if name != self.consumer and not consumer["pending"] and consumer["idle"] > GONE_CONSUMER_IDLE_MS:
                    self.client.xgroup_delconsumer(key, GROUP, name)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
