"""Recording emitted events (the order timeline) and handing them to publishers after commit."""
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import router, transaction
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
                  insert=None, inbounds: list | None = None) -> None:
    """Store the events and hand them to the publishers after commit. ``inbounds``: each event's
    own inbound message (a batch of stream messages), parallel to ``events``; else ``inbound``.

    ``insert`` (bulk intake): writes the events given as plain rows (column values by attname,
    the payload's own text for TransactionId and Timestamp) and sets each row's ``id``, e.g. by
    COPY; no model instance is made unless a publisher needs one (after commit). Default:
    ``bulk_create`` of OrderEvent instances."""
    inbounds = inbounds or [inbound] * len(events)
    organization_id, actor_id = _pk(organization), _pk(actor)
    rows = [_event_row(organization_id, order, message, payload, actor_id)
            for (order, payload), message in zip(events, inbounds, strict=True)]
    parts = [(order, message) for (order, _), message in zip(events, inbounds, strict=True)]
    instances = None
    if insert is None:
        instances = _instances(rows, parts, organization, actor)
        OrderEvent.objects.bulk_create(instances)
    else:
        insert(rows)
    if rows and settings.IRIS_EVENT_PUBLISHERS:
        transaction.on_commit(lambda: events_publish(instances or _instances(rows, parts, organization, actor)))


def _event_row(organization_id, order: Order | None, inbound, payload: dict, actor_id) -> dict:
    """One OrderEvent row as column values by attname (``id`` is set by the writer)."""
    return {
        "id": None, "organization_id": organization_id, "order_id": _pk(order), "inbound_message_id": _pk(inbound),
        "event_type": payload["ResultObjectType"], "transaction_id": payload["TransactionId"],
        "timestamp": payload["Timestamp"], "success": payload["Success"],
        "error_message": payload.get("ErrorMessage") or "", "payload": payload, "actor_id": actor_id,
        "published_at": None,
    }


def _instances(rows: list[dict], parts: list[tuple], organization, actor) -> list[OrderEvent]:
    """OrderEvent instances of the rows (with their related objects); saved ones (an ``id``) as
    ``bulk_create`` leaves them."""
    instances = []
    for row, (order, message) in zip(rows, parts, strict=True):
        event = OrderEvent(
            organization=organization, order=order, inbound_message=message, event_type=row["event_type"],
            transaction_id=row["transaction_id"], timestamp=parse_datetime(row["timestamp"]),
            success=row["success"], error_message=row["error_message"], payload=row["payload"], actor=actor,
        )
        if row["id"] is not None:
            event.pk = row["id"]
            event._state.adding = False
            event._state.db = router.db_for_write(OrderEvent)
        instances.append(event)
    return instances


def _pk(obj):
    return obj.pk if obj is not None else None


def events_publish(events: list[OrderEvent]) -> None:
    """Call every configured publisher (e.g. the Cloud Direct events stream) with the rows just
    committed (they carry their organization; no need to read them back). A failing publisher is
    logged and does not stop the others; rows stay unpublished for a later sweep."""
    for path in settings.IRIS_EVENT_PUBLISHERS:
        try:
            import_string(path)(events)
        except Exception:  # noqa: BLE001 - a publisher must not break intake
            logger.exception("event publisher %s failed for %d events", path, len(events))
