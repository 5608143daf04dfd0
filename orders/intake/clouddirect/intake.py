"""Entries of an organization's orders stream -> the inbox and their service, exactly once.

The stream id is the message's identity: the inbox row carries it as ``control_id`` (and
``sender``), so a redelivery (a consumer died before XACK, XAUTOCLAIM handed it to another)
finds the row and is only acknowledged. A message whose processing fails is left pending and
retried when reclaimed; after ``max_attempts`` failures it becomes a dead letter.

A batch (what one XREADGROUP returned for one stream) is one transaction: one commit, i.e. one
wait for the disk, per batch instead of per message. New OrderRequests go through the order
service's batch path (``OrderBatch.process_messages``: a few statements per batch instead of a
dozen per message); everything else (GradingSubmissions, retries, malformed entries) goes one
by one, each in its own savepoint, in stream order. The raw messages and their processing
commit together, and the caller acknowledges only what this returns, after the commit.
"""
import logging

from django.db import connection, transaction

from organizations.models import Organization

from ...canonical import RequestRejected, loads_lenient
from ...models import InboundChannel, InboundMessage, InboundStatus
from ...services.inbox import inbound_build, redact_json_ssn, storable_text
from ...services.order_batch import OrderBatch, rows_insert
from .conf import setting
from .dead_letters import dead_letter_mark
from .routing import ORDER_REQUEST, inbound_reprocess, message_first_process, message_kind, message_kind_of

logger = logging.getLogger(__name__)

FINISHED = {InboundStatus.PROCESSED, InboundStatus.REJECTED, InboundStatus.DEAD_LETTER}


def stream_messages_process(*, organization: Organization, messages: list[tuple[str, dict[str, bytes]]],
                            max_attempts: int | None = None) -> list[str]:
    """Store and process ``(stream id, fields)`` entries; returns the ids that are finished (the
    caller XACKs them). The others failed and stay pending for a retry. A database error at
    commit propagates: nothing was stored, every entry stays pending."""
    max_attempts = max_attempts or setting("IRIS_CLOUDDIRECT_MAX_ATTEMPTS")
    ids = [message_id for message_id, _ in messages]
    finished = []
    with transaction.atomic():
        _messages_lock(organization, ids)
        stored = {row.control_id: row for row in InboundMessage.objects.filter(
            channel=InboundChannel.CLOUDDIRECT, organization=organization, sender__in=ids, control_id__in=ids,
        ).order_by("pk")}
        run: list[tuple[str, dict[str, bytes], bytes | dict]] = []  # consecutive new OrderRequests, in order
        for message_id, fields in messages:
            inbound = stored.get(message_id)
            if inbound is not None and inbound.status in FINISHED:
                finished.append(message_id)  # a redelivery of a handled message: acknowledge, publish nothing
                continue
            request = _order_request(fields) if inbound is None else None
            if request is not None:
                run.append((message_id, fields, request))
                continue
            finished += _orders_bulk(organization, run, max_attempts)
            run = []
            if _one(organization, message_id, fields, inbound, max_attempts):
                finished.append(message_id)
        finished += _orders_bulk(organization, run, max_attempts)
    return finished


def _order_request(fields: dict[str, bytes]) -> bytes | dict | None:
    """For an entry that is an OrderRequest (declared, or by its shape), what the batch path
    parses: the JSON already read to tell its kind, else the body; None for other entries."""
    body = fields.get("body")
    if body is None:
        return None
    if fields.get("type"):
        return body if message_kind(fields["type"].decode("utf-8", "replace"), body) == ORDER_REQUEST else None
    try:
        data = loads_lenient(body)
    except RequestRejected:
        return body  # the order service names the JSON error
    if message_kind_of(data) != ORDER_REQUEST:
        return None
    return data if isinstance(data, dict) else body


def _orders_bulk(organization: Organization, run: list[tuple[str, dict[str, bytes], bytes | dict]],
                 max_attempts: int) -> list[str]:
    """New OrderRequest entries through the order service's batch path: their raw rows stored
    with one insert, processed together (same rules, same events, each on its own row). If the
    batch itself fails (a bug), each entry goes through the one-by-one path instead."""
    if not run:
        return []
    try:
        with transaction.atomic():
            rows = [
                inbound_build(channel=InboundChannel.CLOUDDIRECT, body=redact_json_ssn(storable_text(fields["body"])),
                              sender=message_id, message_type=ORDER_REQUEST, control_id=message_id,
                              organization=organization)
                for message_id, fields, _ in run]
            rows_insert(InboundMessage, rows)  # COPY on PostgreSQL
            batch = OrderBatch(organization=organization, channel=InboundChannel.CLOUDDIRECT)
            batch.process_messages([(message_id, request, row) for (message_id, _, request), row in zip(run, rows)])
    except Exception:  # noqa: BLE001 - never lose a batch to the fast path: one by one
        logger.exception("clouddirect org %s: bulk run of %d entries failed; one by one", organization.pk, len(run))
        return [message_id for message_id, fields, _ in run if _one(organization, message_id, fields, None, max_attempts)]
    finished = []
    for (message_id, _, _), inbound in zip(run, rows):
        if inbound.status not in FINISHED and inbound.attempts >= max_attempts:
            dead_letter_mark(inbound)
        if inbound.status in FINISHED:
            finished.append(message_id)
    return finished


def _one(organization: Organization, message_id: str, fields: dict[str, bytes], inbound: InboundMessage | None,
         max_attempts: int) -> bool:
    """Store (if new) and process one entry in its own savepoint; True when it is finished."""
    try:
        with transaction.atomic():  # one message's failure never takes the batch with it
            if inbound is None:
                inbound = message_first_process(organization=organization, message_id=message_id, fields=fields)
            else:
                inbound = inbound_reprocess(inbound)
            if inbound.status not in FINISHED and inbound.attempts >= max_attempts:
                dead_letter_mark(inbound)
    except Exception:  # noqa: BLE001 - not stored: stays pending, reclaimed and retried later
        logger.exception("clouddirect org %s entry %s: not processed; left pending", organization.pk, message_id)
        return False
    return inbound.status in FINISHED


def _messages_lock(organization: Organization, ids: list[str]) -> None:
    """A consumer that reclaimed an entry a slow (not dead) consumer is still processing waits
    here until that one commits, then finds it stored. PostgreSQL advisory locks, one per
    message, held to the end of the transaction, taken in one statement in sorted order so
    that two overlapping batches cannot deadlock; other messages of the organization go on in
    parallel. SQLite serializes writers by itself."""
    if connection.vendor != "postgresql":
        return
    keys = sorted(f"clouddirect:{organization.pk}:{message_id}" for message_id in ids)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(key, 0)) FROM unnest(%s::text[]) AS key",
                       [keys])
