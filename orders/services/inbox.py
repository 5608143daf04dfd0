"""The raw inbox (R11): every inbound message is stored before it is processed. SSNs never
reach the table (R13): channel adapters redact before calling ``inbound_store``."""
import json
import re

from django.db import connection
from django.utils import timezone

from ..models import InboundMessage, InboundStatus

_SSN_KEY = re.compile(r"^(ssn|social[_ ]?security([_ ]?(number|no))?)$", re.I)


def redact_json_ssn(body: str) -> str:
    """Drop SSN-like properties from a JSON body. Bodies that are not JSON, or have no such
    property, are returned unchanged (so the stored text is byte-for-byte what was sent)."""
    if not re.search(r"ssn|social", body, re.I):
        return body
    try:
        data = json.loads(body.lstrip("\ufeff"))
    except ValueError:
        return body
    found = False

    def scrub(node):
        nonlocal found
        if isinstance(node, dict):
            for key in list(node):
                if _SSN_KEY.match(str(key)):
                    del node[key]
                    found = True
                else:
                    scrub(node[key])
        elif isinstance(node, list):
            for item in node:
                scrub(item)

    scrub(data)
    return json.dumps(data) if found else body


def storable_text(body: str | bytes) -> str:
    """Text a database column can hold for any input: bytes that are not UTF-8 become ``\\xNN``
    escapes and NUL characters (which PostgreSQL text refuses) become ``\\x00``, so even garbage
    sent to a listener is kept for inspection."""
    if isinstance(body, bytes):
        body = body.decode("utf-8", "backslashreplace")
    return body.replace("\x00", "\\x00") if "\x00" in body else body


def inbound_build(
    *, channel: str, body: str | bytes, sender: str = "", message_type: str = "", control_id: str = "",
    organization=None,
) -> InboundMessage:
    """An unsaved inbox row (stream channels store a batch of them with one insert)."""
    body = storable_text(body)
    return InboundMessage(
        channel=channel, sender=sender[:200], message_type=message_type[:50], control_id=control_id[:200],
        organization=organization, body=body, body_sha256=InboundMessage.hash_body(body),
    )


def inbound_store(
    *, channel: str, body: str | bytes, sender: str = "", message_type: str = "", control_id: str = "",
    organization=None,
) -> InboundMessage:
    inbound = inbound_build(channel=channel, body=body, sender=sender, message_type=message_type,
                            control_id=control_id, organization=organization)
    inbound.save(force_insert=True)
    return inbound


def inbound_finish(message: InboundMessage, *, status: str, error: str = "", order=None, organization=None) -> None:
    message.status = status
    message.error = error
    message.processed_at = timezone.now()
    message.attempts += 1
    fields = ["status", "error", "processed_at", "attempts"]
    if order is not None:
        message.order = order
        fields.append("order")
    if organization is not None and message.organization_id is None:
        message.organization = organization
        fields.append("organization")
    message.save(update_fields=fields)


def inbound_finish_many(finished: list[tuple[InboundMessage, str, str, int | None]], *, organization) -> None:
    """``inbound_finish`` for many rows at once: ``(message, status, error, order id)`` each;
    one UPDATE (on PostgreSQL joined on unnest'ed arrays: ``bulk_update``'s CASE per column cost
    ~8 ms a row there)."""
    now = timezone.now()
    rows = []
    for message, status, error, order_id in finished:
        message.status, message.error, message.processed_at = status, error, now
        message.attempts += 1
        message.order_id = order_id
        message.organization_id = message.organization_id or organization.pk
        rows.append(message)
    if not rows:
        return
    if connection.vendor != "postgresql":
        InboundMessage.objects.bulk_update(
            rows, ["status", "error", "processed_at", "attempts", "order", "organization"], batch_size=500)
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {InboundMessage._meta.db_table} AS t SET status = v.status, error = v.error, "
            "processed_at = %s, attempts = v.attempts, order_id = v.order_id, organization_id = v.organization_id "
            "FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[], %s::bigint[], %s::bigint[]) "
            "AS v(id, status, error, attempts, order_id, organization_id) WHERE t.id = v.id",
            [now, [r.pk for r in rows], [r.status for r in rows], [r.error for r in rows],
             [r.attempts for r in rows], [r.order_id for r in rows], [r.organization_id for r in rows]])


__all__ = ["InboundStatus", "inbound_build", "inbound_finish", "inbound_finish_many", "inbound_store", "redact_json_ssn"]
