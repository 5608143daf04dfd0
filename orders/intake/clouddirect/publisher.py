"""Publishing to the customer's streams: events (an outbox: OrderEvent rows with published_at
NULL are swept until sent, so a Redis outage loses nothing) and results (the transport delivery
calls).

Delivery is at least once: a crash between XADD and marking the row, or a sweep racing a slow
commit, can publish an event twice. Customers de-duplicate by the event's TransactionId, and
must order by its Timestamp (a swept event lands after newer live ones).
"""
import datetime as dt
import json
import logging
import threading
from contextlib import contextmanager

from django.db import connection, transaction
from django.utils import timezone

from ...models import OrderEvent
from .broker import broker_client, stream_add, stream_keys
from .conf import setting

logger = logging.getLogger(__name__)
_deferred = threading.local()


def events_stream_publish(events: list[OrderEvent]) -> None:
    """The IRIS_EVENT_PUBLISHERS hook (called after commit): XADD each event's payload to its
    organization's events stream, then set published_at. Raises when Redis is unreachable;
    the rows then wait for ``events_unpublished_sweep``."""
    pending = [event for event in events if event.organization_id and event.published_at is None]
    if getattr(_deferred, "events", None) is not None:
        _deferred.events.extend(pending)
    elif pending:
        _publish(pending)


@contextmanager
def events_publish_deferred():
    """Collect what is published inside the block and send it at the end in one pipeline with
    one UPDATE (the worker wraps each batch in this). A failure is logged; the sweep retries."""
    _deferred.events = []
    try:
        yield
    finally:
        events, _deferred.events = _deferred.events, None
        if events:
            try:
                _publish(events)
            except Exception:  # noqa: BLE001 - like events_publish: never break intake
                logger.exception("clouddirect: publishing %d events failed; the sweep will retry", len(events))


def events_unpublished_sweep(*, batch_size: int = 500) -> int:
    """Publish events that were never published (Redis was down, the process died). Events
    younger than the grace period are left to the on-commit publisher; events older than the
    stream retention are not worth sending. Returns how many were published."""
    now = timezone.now()
    window = OrderEvent.objects.filter(
        published_at__isnull=True, organization__isnull=False,
        timestamp__lt=now - dt.timedelta(seconds=setting("IRIS_CLOUDDIRECT_SWEEP_GRACE_SECONDS")),
        timestamp__gte=now - dt.timedelta(days=setting("IRIS_CLOUDDIRECT_RETENTION_DAYS")),
    )
    published = 0
    while True:
        with transaction.atomic():  # row locks keep two sweeping workers from sending the same rows
            batch = list(window.select_for_update(skip_locked=True, of=("self",)).select_related("organization")
                         .order_by("timestamp", "id")[:batch_size])
            if not batch:
                return published
            _publish(batch)
        published += len(batch)
        logger.info("clouddirect: swept %d unpublished events", len(batch))


def results_stream_publish(organization, order_result_json: dict) -> str:
    """XADD one OrderResult to the organization's results stream; returns the stream id.
    Raises redis errors so the caller's delivery row records the attempt and retries (R12)."""
    key = stream_keys(organization).results
    pipe = broker_client().pipeline(transaction=False)
    stream_add(pipe, key, body=json.dumps(order_result_json), type="OrderResult")
    (entry_id,) = pipe.execute()
    return entry_id.decode() if isinstance(entry_id, bytes) else entry_id


def _publish(events: list[OrderEvent]) -> None:
    pipe = broker_client().pipeline(transaction=False)
    for event in events:
        stream_add(pipe, stream_keys(event.organization).events, body=json.dumps(event.payload), type=event.event_type)
    pipe.execute()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # Bookkeeping only: if a crash loses this mark the event is sent again (at least once
            # anyway), so this commit need not wait for the disk.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        OrderEvent.objects.filter(pk__in=[event.pk for event in events]).update(published_at=timezone.now())
