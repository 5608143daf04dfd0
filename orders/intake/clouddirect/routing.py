"""Which service handles a Cloud Direct message: OrderRequest -> the one order service;
GradingSubmission (AI graders, test environments) -> the grading service, through one seam.

A message says what it is with an optional ``type`` field; without it the shape decides: a
JSON object with ``OD``/``OS`` and no ``Order`` is a GradingSubmission.
"""
import importlib
import json

from ...canonical import EventType, RequestRejected, loads_lenient
from ...models import InboundChannel, InboundMessage, InboundStatus
from ...services.events import events_record, order_event
from ...services.inbox import inbound_finish, inbound_store, redact_json_ssn
from ...services.order_request import order_request_process, order_request_replay

ORDER_REQUEST = "OrderRequest"
GRADING_SUBMISSION = "GradingSubmission"
KINDS = {"orderrequest": ORDER_REQUEST, "gradingsubmission": GRADING_SUBMISSION}

GRADING_SERVICE_MODULES = ("grading.submission", "grading.services")
GRADING_UNAVAILABLE = "GradingSubmission: grading is not available yet"


def message_kind(declared: str | None, body: bytes | None) -> str | None:
    """ORDER_REQUEST or GRADING_SUBMISSION; None for an unknown declared ``type``."""
    if declared:
        return KINDS.get(declared.replace(" ", "").lower())
    try:
        data = loads_lenient(body or b"")
    except RequestRejected:
        return ORDER_REQUEST  # the order service stores it and names the JSON error
    return message_kind_of(data)


def message_kind_of(data) -> str:
    """The kind of an undeclared message by its shape (already read as JSON)."""
    if isinstance(data, dict):
        keys = {str(key).lower() for key in data}
        if "order" not in keys and keys & {"od", "os"}:
            return GRADING_SUBMISSION
    return ORDER_REQUEST


def message_first_process(*, organization, message_id: str, fields: dict[str, bytes]) -> InboundMessage:
    """Store and process a stream entry seen for the first time; returns its inbox row."""
    body = fields.get("body")
    declared = fields["type"].decode("utf-8", "replace") if fields.get("type") else None
    kind = message_kind(declared, body)
    common = {"organization": organization, "message_id": message_id}
    if body is None or kind is None:
        problem = ("body: required (the OrderRequest or GradingSubmission JSON)" if body is None
                   else f"type: unknown message type '{declared}' (use OrderRequest or GradingSubmission)")
        text = json.dumps({key: value.decode("utf-8", "replace") for key, value in fields.items()})
        return message_reject(**common, text=text, message_type=declared or ORDER_REQUEST, error=problem)
    if kind == GRADING_SUBMISSION:
        return grading_submission_route(**common, body=body)
    return order_request_process(body=body, channel=InboundChannel.CLOUDDIRECT, sender=message_id,
                                 organization=organization, control_id=message_id).inbound


def inbound_reprocess(inbound: InboundMessage, *, actor=None) -> InboundMessage:
    """Process a stored message again through its service (worker retries, portal replay)."""
    if inbound.message_type == GRADING_SUBMISSION:
        return grading_submission_route(organization=inbound.organization, message_id=inbound.control_id,
                                        body=inbound.body.encode(), inbound=inbound)
    return order_request_replay(inbound, actor=actor).inbound


def grading_submission_route(*, organization, message_id: str, body: bytes, inbound=None) -> InboundMessage:
    """THE seam to grading: ``grading_submission_process`` (keywords body, channel, sender,
    organization, inbound; returns an outcome with ``.inbound``) from the first of
    GRADING_SERVICE_MODULES that has it. We store the raw message ourselves so it carries the
    stream id (idempotency). Without a grading service the message is kept and rejected."""
    service = None
    for name in GRADING_SERVICE_MODULES:
        try:
            service = getattr(importlib.import_module(name), "grading_submission_process", None)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise  # a broken import inside the grading service is a bug, not "not built yet"
        if service is not None:
            break
    text = body.decode("utf-8", "replace")
    if inbound is None:
        inbound = inbound_store(channel=InboundChannel.CLOUDDIRECT, body=redact_json_ssn(text), sender=message_id,
                                message_type=GRADING_SUBMISSION, control_id=message_id, organization=organization)
    if service is None:
        return message_reject(organization=organization, message_id=message_id, text=text,
                              message_type=GRADING_SUBMISSION, error=GRADING_UNAVAILABLE, inbound=inbound)
    return service(body=body, channel=InboundChannel.CLOUDDIRECT, sender=message_id, organization=organization,
                   inbound=inbound).inbound


def message_reject(*, organization, message_id: str, text: str, message_type: str, error: str,
                   inbound: InboundMessage | None = None) -> InboundMessage:
    """Keep the raw message (R11) and answer with a failed receipt naming the problem."""
    if inbound is None:
        inbound = inbound_store(channel=InboundChannel.CLOUDDIRECT, body=redact_json_ssn(text), sender=message_id,
                                message_type=message_type, control_id=message_id, organization=organization)
    event_type = EventType.GRADING_RECEIPT if message_type == GRADING_SUBMISSION else EventType.ORDER_CREATION_RECEIPT
    receipt = order_event(event_type, None, success=False, error=error, order_local_id=_local_id(text))
    events_record(organization=organization, inbound=inbound, events=[receipt])
    inbound_finish(inbound, status=InboundStatus.REJECTED, error=error)
    return inbound


def _local_id(text: str) -> str | None:
    """The order id a GradingSubmission (``LocalId``) or OrderRequest (``Order.LocalId``) names,
    for the receipt; None when the text does not say."""
    try:
        data = loads_lenient(text)
    except RequestRejected:
        return None
    if not isinstance(data, dict):
        return None
    lowered = {str(key).lower(): value for key, value in data.items()}
    order = lowered.get("order")
    if isinstance(order, dict):
        lowered = {str(key).lower(): value for key, value in order.items()}
    value = lowered.get("localid")
    return str(value) if isinstance(value, (str, int)) and value != "" else None
