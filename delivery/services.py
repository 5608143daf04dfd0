"""Delivery writes (R12): delivery rows for each result set, sending them with an atomic claim,
retries with backoff and jitter, giving up with an email to the failure contact, receipts,
portal pickup and endpoint configuration.

A delivery row is the truth; Celery tasks only say "try this row now". A lost task or a killed
worker loses nothing: ``deliveries_due()`` (celery beat, ``manage.py deliver_due``) finds rows
whose time has come and rows stuck in "sending" past their claim."""
from __future__ import annotations

import datetime as dt
import logging
import random
import time
from collections.abc import Iterable
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from orders.canonical.events import EventType
from orders.reference import ResultCode
from orders.services.events import events_record, order_event

from .models import (
    AttemptOutcome, Delivery, DeliveryAttempt, DeliveryState, Endpoint, PayloadKind, ResultDocument, ResultSet,
)
from .transports import ConfigError, Contacts, DeliveryPayload, DeliveryReceipt, DocumentKind, TransportError
from .transports import transport_build, transport_class

logger = logging.getLogger(__name__)

RETRYABLE = (DeliveryState.PENDING, DeliveryState.FAILED)


def _setting(name: str, default):
    return getattr(settings, name, default)


def max_attempts() -> int:
    return _setting("IRIS_DELIVERY_MAX_ATTEMPTS", 8)


def retry_delay(attempt: int) -> dt.timedelta:
    """Exponential backoff with "equal jitter": half the delay fixed, half random, so retries of
    many rows after an outage spread out instead of arriving together."""
    base = _setting("IRIS_DELIVERY_RETRY_BASE_SECONDS", 30)
    ceiling = _setting("IRIS_DELIVERY_RETRY_MAX_SECONDS", 3600)
    delay = min(ceiling, base * 2 ** max(0, attempt - 1))
    return dt.timedelta(seconds=delay / 2 + random.uniform(0, delay / 2))  # noqa: S311 - not crypto


def claim_duration() -> dt.timedelta:
    return dt.timedelta(seconds=_setting("IRIS_DELIVERY_CLAIM_SECONDS", 300))


# ---------------------------------------------------------------------------------------------
# Creating delivery rows


def endpoints_applicable(*, organization_id: int, site_id: int | None) -> list[Endpoint]:
    """Enabled endpoints for an order of ``site_id``: per kind, the site's endpoints if it has
    any, otherwise the organization's."""
    endpoints = list(Endpoint.objects.filter(Q(site__isnull=True) | Q(site_id=site_id),
                                             organization_id=organization_id, enabled=True).order_by("pk"))
    site_kinds = {endpoint.kind for endpoint in endpoints if endpoint.site_id is not None}
    return [endpoint for endpoint in endpoints if endpoint.site_id is not None or endpoint.kind not in site_kinds]


def _earlier_destinations(result_set: ResultSet) -> list[Endpoint]:
    """Enabled endpoints that got an earlier version of this order's results (for corrections)."""
    ids = (Delivery.objects.filter(order_id=result_set.order_id, state=DeliveryState.DELIVERED)
           .exclude(result_set=result_set).values("endpoint_id"))
    return list(Endpoint.objects.filter(pk__in=ids, enabled=True))


def deliveries_create(*, result_set: ResultSet) -> list[Delivery]:
    """One delivery row per endpoint the result set goes to, each sent by a task after commit.

    F: the endpoints that apply to the order. R (ResendResult): the same except DFT. C
    (correction): those plus every endpoint that got an earlier version. A DFT (charges) is sent
    at most once per order, ever. Idempotent: a row that exists is not made again."""
    order = result_set.order
    endpoints = endpoints_applicable(organization_id=result_set.organization_id, site_id=order.site_id)
    if result_set.result_code == ResultCode.CORRECTION:
        known = {endpoint.pk for endpoint in endpoints}
        endpoints += [endpoint for endpoint in _earlier_destinations(result_set) if endpoint.pk not in known]
    dft_sent = Delivery.objects.filter(order_id=order.pk, document_kind=PayloadKind.DFT).exists()
    recipient = contacts_for(order)
    created: list[Delivery] = []
    with transaction.atomic():
        for endpoint in endpoints:
            kind = _document_kind(endpoint, recipient)
            if kind == PayloadKind.DFT and (dft_sent or result_set.result_code == ResultCode.RESEND):
                continue
            delivery, new = Delivery.objects.get_or_create(
                result_set=result_set, endpoint=endpoint,
                defaults={"organization_id": result_set.organization_id, "order_id": order.pk,
                          "document_kind": kind, "next_attempt_at": timezone.now()})
            if new:
                created.append(delivery)
                dft_sent = dft_sent or kind == PayloadKind.DFT
        ids = [delivery.pk for delivery in created]
        transaction.on_commit(lambda: deliveries_enqueue(ids))
    logger.info("result set %s: %d deliveries created", result_set.pk, len(created))
    return created


def deliveries_create_handler(result_set_id: int) -> None:
    """settings.IRIS_RESULTS_GENERATED_HANDLERS hook of the results service."""
    result_set = ResultSet.objects.select_related("order").get(pk=result_set_id)
    deliveries_create(result_set=result_set)


def _document_kind(endpoint: Endpoint, recipient: Contacts) -> str:
    """The document to send: the endpoint's payload, unless the transport picks by recipient."""
    try:
        transport = transport_build(endpoint.kind, endpoint.config)
        return str(transport.payload_kind(DocumentKind(endpoint.payload_kind), recipient))
    except (ValueError, ConfigError):  # an invalid endpoint fails at send time, with the reason
        return endpoint.payload_kind


def contacts_for(order) -> Contacts:
    """Where the order itself asks results to go: its HealthPlan PCP (Direct address, email,
    fax), the site's Direct address as fallback for Direct."""
    pcp = order.primary_care_provider
    direct = (pcp.direct_address if pcp else "") or (order.site.direct_address if order.site_id else "")
    return Contacts(direct_address=direct, email=order.pcp_email or (pcp.email if pcp else ""),
                    fax=order.pcp_fax or (pcp.fax if pcp else ""))


def deliveries_enqueue(delivery_ids: Iterable[int], *, countdown: float | None = None) -> None:
    from .tasks_delivery import delivery_send_task

    for delivery_id in delivery_ids:
        try:
            delivery_send_task.apply_async((delivery_id,), countdown=countdown)
        except Exception:  # noqa: BLE001 - broker down: the row stays due and the sweeper sends it
            logger.warning("could not enqueue delivery %s; the sweeper will pick it up", delivery_id)


# ---------------------------------------------------------------------------------------------
# Sending


@dataclass(frozen=True)
class SendOutcome:
    delivery_id: int
    state: str
    error: str = ""


def delivery_claim(*, delivery_id: int) -> bool:
    """Atomically take a due row (pending/failed and due, or sending with an expired claim):
    one conditional UPDATE, so of two workers exactly one gets it."""
    now = timezone.now()
    return bool(Delivery.objects.filter(_due_filter(now), pk=delivery_id).update(
        state=DeliveryState.SENDING, claimed_until=now + claim_duration(), attempts=F("attempts") + 1,
        updated_at=now))


def delivery_send(*, delivery_id: int) -> SendOutcome | None:
    """Send one delivery if it is due and nobody else is sending it; None when not claimed."""
    if not delivery_claim(delivery_id=delivery_id):
        return None
    delivery = (Delivery.objects.select_related("endpoint", "result_set", "order", "order__patient", "order__site",
                                                "order__department", "order__primary_care_provider", "organization")
                .get(pk=delivery_id))
    started = timezone.now()
    clock = time.monotonic()
    receipt: DeliveryReceipt | None = None
    error, permanent = "", False
    transport = None
    try:
        transport = transport_build(delivery.endpoint.kind, delivery.endpoint.config)
        payload = delivery_payload(delivery=delivery)
        with transport:
            receipt = transport.send(payload)
    except ConfigError as exc:
        error, permanent = f"The endpoint's settings are not valid: {exc.errors_text()}", True
    except MissingDocument as exc:
        error, permanent = str(exc), True
    except TransportError as exc:
        error, permanent = exc.message, exc.permanent
    except Exception as exc:  # noqa: BLE001 - a bug in a transport: treat as temporary, keep the row
        logger.exception("delivery %s: unexpected error from the %s transport", delivery_id, delivery.endpoint.kind)
        error = f"Unexpected error ({type(exc).__name__}); the details are in the server log"
    duration = int((time.monotonic() - clock) * 1000)
    if receipt is not None:
        return _succeeded(delivery, receipt, started, duration, pickup=not type(transport).delivered_on_send,
                          emits_receipt=type(transport).emits_receipt)
    return _failed(delivery, error, permanent, started, duration)


class MissingDocument(Exception):
    pass


def delivery_payload(*, delivery: Delivery) -> DeliveryPayload:
    """The stored document of the delivery's kind, plus the order facts transports use."""
    from .results.links import report_link_url

    result_set, order = delivery.result_set, delivery.order
    document = ResultDocument.objects.filter(result_set=result_set, kind=delivery.document_kind).first()
    if document is None:
        raise MissingDocument(f"This result has no {delivery.get_document_kind_display()} document; "
                              "check the endpoint's payload setting")
    with document.file.open("rb") as handle:
        content = handle.read()
    extension = document.file.name.rsplit(".", 1)[-1]
    return DeliveryPayload(
        file_name=f"{order.local_id}.{extension}", content=content, content_type=document.media_type,
        document_kind=DocumentKind(delivery.document_kind), order_id=order.pk, order_local_id=order.local_id,
        patient_id=order.patient_id, patient_local_id=order.patient.local_id,
        patient_first_name=order.patient.first_name, patient_last_name=order.patient.last_name,
        organization_id=delivery.organization_id, client_guid=str(delivery.organization.client_guid).upper(),
        site_id=order.site_id, site_local_id=order.site.local_id,
        department_local_id=order.department.local_id if order.department_id else "",
        result_code=result_set.result_code, recipient=contacts_for(order), reference_time=delivery.created_at,
        delivery_key=str(delivery.pk), result_link=report_link_url(result_set=result_set),
    )


def _attempt(delivery: Delivery, started, duration: int, outcome: str, error: str = "") -> None:
    DeliveryAttempt.objects.create(delivery=delivery, started_at=started, duration_ms=duration, outcome=outcome,
                                   error=error)


def _succeeded(delivery: Delivery, receipt: DeliveryReceipt, started, duration: int, *, pickup: bool,
               emits_receipt: bool) -> SendOutcome:
    with transaction.atomic():
        _attempt(delivery, started, duration, AttemptOutcome.SUCCESS)
        fields = {"claimed_until": None, "last_error": "", "remote_id": receipt.remote_id[:255],
                  "receipt_endpoint": receipt.endpoint, "updated_at": timezone.now()}
        if pickup:  # waits in the portal until downloaded (deliveries_pickup)
            fields.update(state=DeliveryState.PENDING, next_attempt_at=None)
        else:
            fields.update(state=DeliveryState.DELIVERED, delivered_at=receipt.delivered_at, next_attempt_at=None)
        Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(**fields)
        if not pickup and emits_receipt:
            receipts_emit(deliveries=[delivery], receipts=[receipt])
    logger.info("delivery %s %s after %d attempt(s)", delivery.pk, "awaits pickup" if pickup else "delivered",
                delivery.attempts)
    return SendOutcome(delivery.pk, fields["state"])


def _failed(delivery: Delivery, error: str, permanent: bool, started, duration: int) -> SendOutcome:
    give_up = permanent or delivery.attempts >= max_attempts()
    now = timezone.now()
    with transaction.atomic():
        _attempt(delivery, started, duration, AttemptOutcome.PERMANENT if permanent else AttemptOutcome.TRANSIENT,
                 error)
        if give_up:
            fields = {"state": DeliveryState.GIVEN_UP, "next_attempt_at": None}
        else:
            fields = {"state": DeliveryState.FAILED, "next_attempt_at": now + retry_delay(delivery.attempts)}
        Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
            claimed_until=None, last_error=error, updated_at=now, **fields)
        if give_up:
            delivery_id = delivery.pk
            transaction.on_commit(lambda: failure_contact_notify(delivery_id=delivery_id))
        else:
            wait = (fields["next_attempt_at"] - now).total_seconds()
            transaction.on_commit(lambda: deliveries_enqueue([delivery.pk], countdown=wait))
    logger.warning("delivery %s attempt %d failed (%s)%s", delivery.pk, delivery.attempts,
                   "permanent" if permanent else "temporary", "; given up" if give_up else "")
    return SendOutcome(delivery.pk, fields["state"], error)


def receipts_emit(*, deliveries: list[Delivery], receipts: list[DeliveryReceipt]) -> None:
    """One ResultsDeliveryReceipt event per delivery (on the order timeline and to publishers)."""
    if not deliveries:
        return
    events = [order_event(EventType.RESULTS_DELIVERY_RECEIPT, delivery.order, **receipt.event_fields())
              for delivery, receipt in zip(deliveries, receipts, strict=True)]
    events_record(organization=deliveries[0].organization, events=events)


def failure_contact_notify(*, delivery_id: int) -> None:
    """Tell the endpoint's failure contact that a delivery was given up: a link, no PHI."""
    delivery = Delivery.objects.select_related("endpoint").get(pk=delivery_id)
    contact = delivery.endpoint.failure_contact
    if not contact:
        return
    link = f"{settings.IRIS_PORTAL_URL}{reverse('delivery:monitor')}"
    body = (f"IRIS Portal could not deliver a result to the endpoint \"{delivery.endpoint.name}\" and has stopped "
            f"trying (delivery {delivery.pk}, {delivery.attempts} attempt(s)).\n\nReason: {delivery.last_error}\n\n"
            f"See the delivery monitor to fix the endpoint and retry:\n{link}\n")
    try:
        send_mail("IRIS Portal: a result delivery failed", body, None, [contact])
    except Exception:  # noqa: BLE001 - the failure stays on the monitor
        logger.exception("could not email the failure contact of delivery %s", delivery_id)


# ---------------------------------------------------------------------------------------------
# Sweeper, retry, resend


def _due_filter(now) -> Q:
    return (Q(state__in=RETRYABLE, next_attempt_at__lte=now)
            | Q(state=DeliveryState.SENDING, claimed_until__lt=now))


def deliveries_due(*, enqueue: bool = True, limit: int = 1000) -> list[int]:
    """Ids of deliveries due now or stuck in "sending" past their claim; enqueued unless told not
    to. The periodic safety net behind lost tasks, dead workers and broker restarts."""
    ids = list(Delivery.objects.filter(_due_filter(timezone.now())).order_by("next_attempt_at", "pk")
               .values_list("pk", flat=True)[:limit])
    if enqueue:
        deliveries_enqueue(ids)
    return ids


def deliveries_run_due(*, limit: int = 1000) -> dict[str, int]:
    """Send every due delivery now in this process (``manage.py deliver_due``); counts by outcome."""
    counts: dict[str, int] = {}
    for delivery_id in deliveries_due(enqueue=False, limit=limit):
        outcome = delivery_send(delivery_id=delivery_id)
        key = outcome.state if outcome else "skipped"
        counts[key] = counts.get(key, 0) + 1
    return counts


def delivery_retry(*, delivery: Delivery) -> bool:
    """Retry a failed or given-up delivery now (monitor button); attempts start a new round."""
    now = timezone.now()
    updated = Delivery.objects.filter(pk=delivery.pk, state__in=[*RETRYABLE, DeliveryState.GIVEN_UP]).exclude(
        state=DeliveryState.PENDING, next_attempt_at__isnull=True).update(
        state=DeliveryState.PENDING, next_attempt_at=now, attempts=0, claimed_until=None, updated_at=now)
    if updated:
        transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]))
    return bool(updated)


def delivery_resend(*, delivery: Delivery) -> Delivery | None:
    """Send a delivered (or any) result again to the same endpoint: a delivery row is per result
    set and endpoint, so a resend re-opens the row (DFT is never resent)."""
    if delivery.document_kind == PayloadKind.DFT:
        return None
    now = timezone.now()
    updated = Delivery.objects.filter(pk=delivery.pk).exclude(state=DeliveryState.SENDING).update(
        state=DeliveryState.PENDING, next_attempt_at=now, attempts=0, claimed_until=None, delivered_at=None,
        updated_at=now)
    if not updated:
        return None
    transaction.on_commit(lambda: deliveries_enqueue([delivery.pk]))
    delivery.refresh_from_db()
    return delivery


# ---------------------------------------------------------------------------------------------
# Portal pickup


def deliveries_pickup(*, deliveries: list[Delivery]) -> list[Delivery]:
    """Mark downloaded portal-pickup deliveries retrieved (delivered) and emit their receipts.
    Only rows still waiting are marked, so two people downloading at once emit one receipt each."""
    now = timezone.now()
    marked: list[Delivery] = []
    with transaction.atomic():
        for delivery in deliveries:
            if Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.PENDING,
                                       next_attempt_at__isnull=True).update(
                    state=DeliveryState.DELIVERED, delivered_at=now, updated_at=now):
                marked.append(delivery)
        receipt_class = transport_class("portal")
        receipts = [DeliveryReceipt(delivery_type=receipt_class.delivery_type, endpoint="portal",
                                    remote_id=str(delivery.pk), delivered_at=now) for delivery in marked]
        receipts_emit(deliveries=marked, receipts=receipts)
    return marked


# ---------------------------------------------------------------------------------------------
# Endpoints


def endpoint_save(*, endpoint: Endpoint, config: dict) -> Endpoint:
    """Store an endpoint with its configuration cleaned by the transport (ConfigError names the
    bad fields)."""
    endpoint.config = transport_class(endpoint.kind).validate_config(config)
    endpoint.save()
    return endpoint
