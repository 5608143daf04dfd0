"""The one order service: every intake channel turns its input into an OrderRequest and calls
``order_request_process``. Rules R5-R8 live here and nowhere else.

One database transaction per message: the raw message is inserted first (R11), processing runs
in a savepoint, so a failure rolls back only the processing and the raw message is kept with
its error; callers acknowledge (ACK, receipt, XACK) only after this returns, i.e. after commit.
"""
import functools
import json
import logging
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from organizations.models import Organization, Site
from organizations.selectors import device_by_local_id, organization_by_client_guid, site_by_local_id
from organizations.us_states import normalize_state
from organizations.services import (
    ProviderData, department_get_or_create, device_create, npi_problems, providers_upsert, site_create,
)
from patients.services import Demographics, patient_create, patient_find, patient_update

from ..canonical import EventType, FieldError, OrderRequest, RequestRejected, parse_order_request
from ..canonical import order_request as msg
from ..models import OPEN_STATUSES, InboundMessage, InboundStatus, Order, OrderExam, OrderSource, OrderStatus
from ..reference import GenderContext, OrderControlCode
from .events import events_record, order_event
from .images import images_from_references
from .inbox import inbound_finish, inbound_store, redact_json_ssn, storable_text

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 4  # unique-constraint races (R3/R5) are retried; the loser then sees the winner


@dataclass
class OrderRequestOutcome:
    inbound: InboundMessage
    success: bool
    events: list[dict] = field(default_factory=list)
    order: Order | None = None
    error: str = ""


@dataclass
class _Context:
    organization: Organization
    request: OrderRequest
    source: str
    warnings: list[str] = field(default_factory=list)
    events: list = field(default_factory=list)
    # (site id, department local id) -> Department; a batch shares one dict across its requests.
    departments: dict = field(default_factory=dict)


# Warnings whose text callers (and the batch path, orders/services/order_batch.py) rely on.
DUPLICATE_WARNING = "duplicate submission: the order already exists; nothing changed"

# Read-only stand-ins for an absent address or name (building a model per request costs ~3 µs).
_NO_ADDRESS = msg.Address()
_NO_NAME = msg.Name()


def superseded_warning(new_local_id: str) -> str:
    return f"cancelled in favour of the new order '{new_local_id}'"


def order_request_process(
    *, body: str | bytes | dict | OrderRequest, channel: str, sender: str = "", source: str | None = None,
    organization: Organization | None = None, inbound: InboundMessage | None = None, actor=None,
    message_type: str = "OrderRequest", control_id: str = "",
) -> OrderRequestOutcome:
    """Store (unless ``inbound`` is given: the adapter stored its own raw text), parse, apply.

    ``organization``: the organization the channel already authenticated (a Cloud Direct stream,
    an HL7 sender); the message's ClientGuid must then match it."""
    with transaction.atomic():
        if inbound is None:
            text = storable_text(body) if isinstance(body, bytes) else body
            if isinstance(body, OrderRequest):
                text = body.model_dump_json(by_alias=True, exclude_none=True)
            elif isinstance(body, dict):
                text = json.dumps(body)
            inbound = inbound_store(channel=channel, body=redact_json_ssn(text), sender=sender,
                                    message_type=message_type, control_id=control_id, organization=organization)
        outcome = _process(inbound=inbound, body=body, channel=channel, source=source or channel,
                           organization=organization, actor=actor)
    return outcome


def order_request_replay(inbound: InboundMessage, *, actor=None) -> OrderRequestOutcome:
    """Process a stored message again (idempotent: an order is never created twice)."""
    with transaction.atomic():
        return _process(inbound=inbound, body=inbound.body, channel=inbound.channel, source=inbound.channel,
                        organization=inbound.organization, actor=actor)


def _process(*, inbound, body, channel, source, organization, actor) -> OrderRequestOutcome:
    request: OrderRequest | None = None
    org = organization
    try:
        if isinstance(body, OrderRequest):  # built by a channel adapter: same requirements apply
            request = body
            if errors := request.required_errors():
                raise RequestRejected(errors)
        else:
            request = parse_order_request(body.encode() if isinstance(body, str) else body)
        org = organization_for_request(request, organization)
        for attempt in range(1, MAX_ATTEMPTS + 1):
            ctx = _Context(organization=org, request=request, source=_source(source))
            try:
                with transaction.atomic():
                    order = _HANDLERS[request.order_control_code](ctx)
                break
            except IntegrityError:
                if attempt == MAX_ATTEMPTS:
                    raise
                logger.info("inbound %s: constraint race, retrying (attempt %d)", inbound.pk, attempt)
    except RequestRejected as exc:
        error = exc.message
        event_type = EventType.ORDER_CANCELLED if request and request.order_control_code == OrderControlCode.CANCEL \
            else EventType.ORDER_CREATION_RECEIPT
        rejection = order_event(event_type, None, success=False, error=error,
                                order_local_id=_safe(lambda: request.order.local_id),
                                patient_local_id=_safe(lambda: request.patient.local_id))
        events_record(organization=org, inbound=inbound, events=[rejection], actor=actor)
        inbound_finish(inbound, status=InboundStatus.REJECTED, error=error, organization=org)
        return OrderRequestOutcome(inbound=inbound, success=False, events=[rejection[1]], error=error)
    except Exception as exc:  # noqa: BLE001 - keep the raw message, report, never crash a channel
        error = f"internal error while processing ({type(exc).__name__}); the message is kept for replay"
        logger.exception("inbound %s: processing failed", inbound.pk)
        failure = order_event(EventType.ORDER_CREATION_RECEIPT, None, success=False, error=error,
                              order_local_id=_safe(lambda: request.order.local_id),
                              patient_local_id=_safe(lambda: request.patient.local_id))
        events_record(organization=org, inbound=inbound, events=[failure], actor=actor)
        inbound_finish(inbound, status=InboundStatus.FAILED, error=error, organization=org)
        return OrderRequestOutcome(inbound=inbound, success=False, events=[failure[1]], error=error)
    events_record(organization=org, inbound=inbound, events=ctx.events, actor=actor)
    inbound_finish(inbound, status=InboundStatus.PROCESSED, order=order, organization=org)
    return OrderRequestOutcome(inbound=inbound, success=True, events=[p for _, p in ctx.events], order=order)


def _safe(getter):
    try:
        return getter()
    except AttributeError:
        return None


def _source(channel: str) -> str:
    return channel if channel in OrderSource.values else OrderSource.WEB


def organization_for_request(request: OrderRequest, channel_org: Organization | None) -> Organization:
    """The active organization named by ClientGuid; it must be the channel's own when the
    channel already knows it (a Cloud Direct stream, an HL7 sender). Shared by every message kind."""
    try:
        guid = uuid.UUID(request.client_guid)
    except ValueError:
        raise RequestRejected(FieldError("ClientGuid", f"'{request.client_guid}' is not a GUID")) from None
    org = organization_by_client_guid(guid)
    if org is None:
        raise RequestRejected(FieldError("ClientGuid", f"unknown ClientGuid '{request.client_guid}'"))
    if channel_org is not None and channel_org.pk != org.pk:
        raise RequestRejected(FieldError("ClientGuid", "does not match the organization of this channel"))
    return org


# ---------------------------------------------------------------------------------------------
# NW


def _order_new(ctx: _Context) -> Order:
    req, org = ctx.request, ctx.organization
    types = req.order.evaluation_types
    _check_subscribed(org, types)
    site = _site_for(ctx)
    state = _exam_state(req, site)
    providers = _providers(ctx)

    patient = patient_find(organization=org, site=site, local_id=req.patient.local_id, for_update=True)
    existing = Order.objects.select_related("patient").filter(organization=org, local_id=req.order.local_id).first()
    if existing is not None:
        if patient is None:  # both committed by a concurrent submission after our patient lookup
            patient = patient_find(organization=org, site=site, local_id=req.patient.local_id, for_update=True)
        _check_same_patient(req, same=patient is not None and existing.patient_id == patient.pk)
        # R6: same order id again = duplicate submission; idempotent, nothing changes.
        ctx.events.append(order_event(EventType.ORDER_CREATION_RECEIPT, existing, warnings=[DUPLICATE_WARNING]))
        return existing

    demographics = _demographics(req.patient)
    if patient is None:
        patient = patient_create(organization=org, site=site, local_id=req.patient.local_id, demographics=demographics)
    else:
        patient_update(patient=patient, demographics=demographics)
        _cancel_superseded(ctx, patient, types)  # a new patient has no open orders
    order = Order(organization=org, patient=patient, site=site, local_id=req.order.local_id,
                  evaluation_types=types, state=state, source=ctx.source)
    _apply_order_fields(ctx, order, providers, site)
    order.warnings = ctx.warnings
    order.save(force_insert=True)
    OrderExam.objects.bulk_create([OrderExam(order=order, patient=patient, evaluation_type=code) for code in types])
    order.patient = patient
    ctx.events.append(order_event(EventType.ORDER_CREATION_RECEIPT, order, warnings=ctx.warnings))
    if req.camera and req.camera.images:
        images_from_references(order, req.camera.images, ctx.events)
    return order


def _check_subscribed(org: Organization, types: list[str]) -> None:
    """An organization may only order the evaluation types it subscribes to."""
    unsubscribed = [code for code in types if code not in (org.evaluation_types or [])]
    if unsubscribed:
        raise RequestRejected(FieldError(
            "Order.EvaluationTypes", f"not subscribed by this organization: {', '.join(unsubscribed)}"))


def _exam_state(req: OrderRequest, site: Site) -> str:
    """R7: the submitted state, else the site's; an order without one is rejected."""
    state = req.order.state or site.state
    if not state:
        raise RequestRejected(FieldError("Order.State", f"required: site '{site.local_id}' has no state"))
    return state


def _check_same_patient(req: OrderRequest, *, same: bool) -> None:
    """R6: an existing order id is a duplicate submission only for the same patient."""
    if not same:
        raise RequestRejected(FieldError("Order.LocalId", f"'{req.order.local_id}' is already used for another patient"))


def _cancel_superseded(ctx: _Context, patient, types: list[str]) -> None:
    """R6: an open order of the same patient and evaluation type is cancelled in favour of the new one."""
    older_ids = set(
        OrderExam.objects.filter(patient=patient, evaluation_type__in=types, is_open=True).values_list("order_id", flat=True)
    )
    for older in Order.objects.select_for_update().select_related("patient").filter(pk__in=older_ids, status__in=OPEN_STATUSES):
        _order_cancel(older)
        ctx.events.append(order_event(EventType.ORDER_CANCELLED, older, warnings=[
            superseded_warning(ctx.request.order.local_id)]))


def _order_cancel(order: Order) -> None:
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = timezone.now()
    order.save(update_fields=["status", "cancelled_at", "updated_at"])
    OrderExam.objects.filter(order=order).update(is_open=False)


def _site_for(ctx: _Context) -> Site:
    req, org = ctx.request, ctx.organization
    local_id = req.site.local_id
    site = site_by_local_id(org, local_id)
    if site is not None:
        if not site.is_active:
            raise RequestRejected(FieldError("Site.LocalId", f"site '{local_id}' is inactive"))
        return site
    if not org.allow_site_autocreate:
        raise RequestRejected(FieldError("Site.LocalId", f"unknown site '{local_id}'"))
    address = req.site.address or _NO_ADDRESS
    state = normalize_state(address.state) or req.order.state
    if not req.site.name or not state:
        raise RequestRejected(FieldError(
            "Site", f"unknown site '{local_id}': to add it automatically send Site.Name and Site.Address.State"))
    return site_create(organization=org, local_id=local_id, name=req.site.name, street1=address.street1,
                       street2=address.street2, city=address.city, state=state, postal_code=address.postal_code)


def _providers(ctx: _Context) -> dict:
    """Upsert every provider the request names; malformed NPIs reject, bad check digits warn."""
    return providers_upsert(_provider_data(ctx))


def _provider_data(ctx: _Context) -> list[ProviderData]:
    """What the request says about each provider, one entry per NPI (no database access)."""
    req = ctx.request
    data, errors = [], []
    named = [("OrderingProvider", req.ordering_provider), ("ReferringProvider", req.referring_provider),
             ("CameraOperator", req.camera_operator)]
    pcp = req.health_plan.primary_care_provider if req.health_plan else None
    for label, provider in named + [("HealthPlan.PrimaryCareProvider", pcp)]:
        if provider is None or not provider.npi:
            continue
        error, warning = _npi_problems(f"{label}.NPI", provider.npi)
        if error:
            errors.append(error)
            continue
        if warning and warning not in ctx.warnings:
            ctx.warnings.append(warning)
        name = provider.name or _NO_NAME
        given = provider.__dict__  # the model's field values; a field this kind of provider lacks is None
        email = given.get("email") or given.get("email_address")
        data.append(ProviderData(provider.npi, first_name=name.first, last_name=name.last,
                                 degrees=given.get("degrees"), taxonomy=given.get("taxonomy"),
                                 associations=given.get("associations"), email=email, fax=given.get("fax_number")))
    if errors:
        raise RequestRejected(errors)
    # One ProviderData per NPI: the first mention wins, later ones only fill blanks.
    merged: dict[str, ProviderData] = {}
    for item in data:
        if item.npi in merged:
            for name in ProviderData.__slots__[1:]:
                if not getattr(merged[item.npi], name):
                    setattr(merged[item.npi], name, getattr(item, name))
        else:
            merged[item.npi] = item
    return list(merged.values())


# The same few NPIs recur in every row of a bulk import; the answer is a pure function of its
# arguments (and immutable: a frozen FieldError, a string).
_npi_problems = functools.lru_cache(maxsize=4096)(npi_problems)


def _demographics(patient: msg.Patient | None) -> Demographics:
    if patient is None:
        return Demographics()
    address = patient.address or _NO_ADDRESS
    identity = patient.gender_for(GenderContext.IDENTITY) or patient.gender_for(GenderContext.UNKNOWN) or patient.gender
    birth = patient.gender_for(GenderContext.BIRTH) or patient.gender
    state = normalize_state(address.state)
    name = patient.name or _NO_NAME
    return Demographics(first_name=name.first, last_name=name.last, dob=patient.dob, values={
        "birth_gender": birth, "identity_gender": identity, "race": patient.race, "ethnicity": patient.ethnicity,
        "language": patient.primary_language, "marital_status": patient.marital_status, "phone": patient.phone,
        "email": patient.email, "street1": address.street1, "street2": address.street2, "city": address.city,
        "state": state, "postal_code": address.postal_code, "dx_code": patient.dx_code,
        "additional_info": patient.additional_info,
    })


def _apply_order_fields(ctx: _Context, order: Order, providers: dict, site: Site) -> None:
    """Copy the mutable order fields the request gives (shared by NW and XO)."""
    req = ctx.request
    o = req.order
    if o.scheduled_time is not None:
        order.scheduled_time = o.scheduled_time if timezone.is_aware(o.scheduled_time) \
            else timezone.make_aware(o.scheduled_time, timezone.get_default_timezone())
    for attr, value in (("encounter_number", o.encounter_number), ("orderable_identifier", o.orderable_identifier),
                        ("study_instance_uid", o.study_instance_unique_id), ("additional_info", o.additional_info),
                        ("missing_eye_reason", o.missing_eye_reason)):
        if value is not None:
            setattr(order, attr, value)
    if o.cpt_code is not None:
        order.cpt_code = o.cpt_code.code or ""
        order.cpt_description = o.cpt_code.description or order.cpt_description
    if o.single_eye_only is not None:
        order.single_eye_only = o.single_eye_only
    if o.urgent is not None:
        order.urgent = o.urgent
    if o.department_id:
        key = (site.pk, o.department_id)
        if key not in ctx.departments:
            ctx.departments[key] = department_get_or_create(site=site, local_id=o.department_id)
        order.department = ctx.departments[key]
    if req.user_name_submitting:
        order.user_name_submitting = req.user_name_submitting
    for attr, provider in (("ordering_provider", req.ordering_provider), ("referring_provider", req.referring_provider),
                           ("camera_operator", req.camera_operator)):
        if provider is not None and provider.npi:
            setattr(order, attr, providers[provider.npi])
    operator = req.camera_operator
    if operator is not None or req.camera_operator_user_name:
        name = (operator.name if operator else None) or _NO_NAME
        order.camera_operator_info = {k: v for k, v in {
            "first_name": name.first, "last_name": name.last, "email": operator.email if operator else None,
            "user_name": req.camera_operator_user_name}.items() if v}
    plan = req.health_plan
    if plan is not None:
        order.health_plan_local_id = plan.local_id or order.health_plan_local_id
        order.health_plan_name = plan.name or order.health_plan_name
        order.health_plan_member_id = plan.member_id or order.health_plan_member_id
        order.health_plan_individual_id = plan.individual_id or order.health_plan_individual_id
        pcp = plan.primary_care_provider
        if pcp is not None:
            if pcp.npi:
                order.primary_care_provider = providers[pcp.npi]
            order.pcp_email = pcp.email_address or order.pcp_email
            order.pcp_fax = pcp.fax_number or order.pcp_fax
    camera = req.camera
    if camera is not None and camera.local_id:
        device = device_by_local_id(site, camera.local_id)
        if device is None and ctx.organization.allow_camera_autocreate:
            device = device_create(site=site, local_id=camera.local_id, serial_number=camera.serial_number,
                                   manufacturer=camera.manufacturer, model=camera.model,
                                   software_version=camera.software_version, location=camera.location,
                                   ip_address=camera.ip_address, mac_address=camera.mac_address)
        if device is None:
            ctx.warnings.append(f"Camera.LocalId: unknown camera '{camera.local_id}'; the order has no camera")
        else:
            order.device = device


# ---------------------------------------------------------------------------------------------
# XO, CA, ResendResult


def _existing_order(ctx: _Context) -> Order:
    local_id = ctx.request.order.local_id
    order = (Order.objects.select_for_update(of=("self",)).select_related("patient", "site")
             .filter(organization=ctx.organization, local_id=local_id).first())
    if order is None:
        raise RequestRejected(FieldError("Order.LocalId", f"no order '{local_id}' in this organization"))
    site = ctx.request.site
    if site is not None and site.local_id and site.local_id != order.site.local_id:
        ctx.warnings.append(f"Site.LocalId: '{site.local_id}' differs from the order's site "
                            f"'{order.site.local_id}'; the order keeps its site")
    return order


def _order_change(ctx: _Context) -> Order:
    """R8: XO updates demographics and order fields; order id, evaluation types and patient id are
    immutable (differences ignored and said so in the event). Refused on closed orders."""
    req = ctx.request
    order = _existing_order(ctx)
    if not order.is_open:
        raise RequestRejected(FieldError("Order.LocalId", f"order '{order.local_id}' is {order.status}; changes are refused"))
    if req.order.evaluation_types and sorted(req.order.evaluation_types) != sorted(order.evaluation_types):
        ctx.warnings.append(f"Order.EvaluationTypes: cannot be changed (order has {', '.join(order.evaluation_types)}); ignored")
    if req.patient and req.patient.local_id and req.patient.local_id != order.patient.local_id:
        ctx.warnings.append(f"Patient.LocalId: cannot be changed (order is for '{order.patient.local_id}'); ignored")
    if req.order.state and req.order.state != order.state:
        order.state = req.order.state
    providers = _providers(ctx)
    patient = order.patient
    if req.patient is not None:
        patient_update(patient=patient, demographics=_demographics(req.patient))
    _apply_order_fields(ctx, order, providers, order.site)
    order.warnings = sorted(set(order.warnings) | {w for w in ctx.warnings if "NPI" in w})
    order.save()
    ctx.events.append(order_event(EventType.ORDER_CREATION_RECEIPT, order, warnings=ctx.warnings))
    if req.camera and req.camera.images:
        images_from_references(order, req.camera.images, ctx.events)
    return order


def _order_cancel_request(ctx: _Context) -> Order:
    order = _existing_order(ctx)
    if order.status == OrderStatus.CANCELLED:
        ctx.events.append(order_event(EventType.ORDER_CANCELLED, order, warnings=["the order was already cancelled"]))
        return order
    if order.status == OrderStatus.COMPLETE:
        raise RequestRejected(FieldError("Order.LocalId", f"order '{order.local_id}' is complete; it cannot be cancelled"))
    _order_cancel(order)
    ctx.events.append(order_event(EventType.ORDER_CANCELLED, order, warnings=ctx.warnings))
    return order


def _order_resend_result(ctx: _Context) -> Order:
    order = _existing_order(ctx)
    if order.status != OrderStatus.COMPLETE:
        raise RequestRejected(FieldError("Order.LocalId", f"order '{order.local_id}' has no results to resend ({order.status})"))
    handler = getattr(settings, "IRIS_RESULT_RESEND_HANDLER", "")
    if not handler:
        raise RequestRejected(FieldError("OrderControlCode", "ResendResult: result delivery is not set up in this installation"))
    order_id = order.pk
    transaction.on_commit(lambda: import_string(handler)(order_id))
    return order


_HANDLERS = {
    OrderControlCode.NEW: _order_new,
    OrderControlCode.CHANGE: _order_change,
    OrderControlCode.CANCEL: _order_cancel_request,
    OrderControlCode.RESEND_RESULT: _order_resend_result,
}

__all__ = ["OrderRequestOutcome", "organization_for_request", "order_request_process", "order_request_replay"]
