"""Recording emitted events (the order timeline) and handing them to publishers after commit."""
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import transaction
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string

from ..canonical import event_payload
from ..models import Order, OrderEvent

logger = logging.getLogger(__name__)


def order_event(event_type: str, order: Order | None, *, success: bool = True, error: str | None = None,
                warnings: Iterable[str] = (), order_local_id: str | None = None,
                patient_local_id: str | None = None, **extra) -> tuple[Order | None, dict]:
    """Build one event about ``order`` (or about a request that never became one)."""
    payload = event_payload(
        event_type,
        iris_order_id=order.pk if order else None,
        order_local_id=order.local_id if order else order_local_id,
        patient_local_id=(order.patient.local_id if order else patient_local_id),
        success=success, error_message=error, warnings=list(warnings) or None, **extra,
    )
    return order, payload


def events_record(*, organization, inbound=None, events: list[tuple[Order | None, dict]], actor=None,
                  insert=None, inbounds: list | None = None) -> list[OrderEvent]:
    """Store the events (``insert``: how to write the rows, e.g. COPY for bulk intake; default
    bulk_create) and hand them to the publishers after commit. ``inbounds``: each event's own
    inbound message (a batch of stream messages), parallel to ``events``; else ``inbound``."""
    inbounds = inbounds or [inbound] * len(events)
    rows = [
        OrderEvent(
            organization=organization, order=order, inbound_message=message,
            event_type=payload["ResultObjectType"], transaction_id=payload["TransactionId"],
            timestamp=parse_datetime(payload["Timestamp"]), success=payload["Success"],
            error_message=payload.get("ErrorMessage") or "", payload=payload, actor=actor,
        )
        for (order, payload), message in zip(events, inbounds, strict=True)
    ]
    (insert or OrderEvent.objects.bulk_create)(rows)
    if rows and settings.IRIS_EVENT_PUBLISHERS:
        transaction.on_commit(lambda: events_publish(rows))
    return rows


def events_publish(events: list[OrderEvent]) -> None:
    """Call every configured publisher (e.g. the Cloud Direct events stream) with the rows just
    committed (they carry their organization; no need to read them back). A failing publisher is
    logged and does not stop the others; rows stay unpublished for a later sweep."""
    for path in settings.IRIS_EVENT_PUBLISHERS:
        try:
            import_string(path)(events)
        except Exception:  # noqa: BLE001 - a publisher must not break intake
            logger.exception("event publisher %s failed for %d events", path, len(events))
