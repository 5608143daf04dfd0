"""One MLLP frame in, one ACK out (SPEC 4.3, R11, R13).

Order of work: blank SSNs -> read the MSH -> recognise the sender (HL7Interface) -> replay check
-> map to an OrderRequest -> store the raw text and run the one order service in one
transaction -> ACK. The ACK is built after that transaction committed, so an AA/AE means the
message is durably stored and processed. Whatever cannot be processed (unreadable bytes,
unknown sender, another message type) is stored too and answered AR. Synchronous: the asyncio
listener runs it in a worker thread.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property

from django.db import transaction
from pydantic import ValidationError

from iris_portal.hl7_mllp_client import Frame, text_decode
from organizations.models import Organization

from ...canonical import FieldError, OrderRequest, field_errors_parse
from ...models import InboundChannel, InboundMessage, InboundStatus
from ...services.inbox import inbound_build, inbound_finish, inbound_store
from ...services.order_batch import FAILED, OrderBatch, rows_insert
from ...services.order_request import order_request_process
from .ack import ACCEPT, ERROR, REJECT, AckError, ack_build, error_code_for
from .mapping import MappedOrder, orm_map
from .message import (
    SEGMENT_BREAK, Header, HL7ParseError, Location, ParsedMessage, header_guess, message_parse, ssn_redact,
)
from .senders import Sender, SenderDirectory

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "ORM^O01"
ACCEPTED_TRIGGERS = {"O01", ""}
INTERNAL_ERROR = AckError("internal error while processing; send the message again")


@dataclass(frozen=True)
class Receipt:
    """What the listener sends back, and what happened (for logs and tests)."""

    ack: bytes
    code: str
    inbound_id: int | None = None


def hl7_frame_receive(*, frame: Frame, senders: SenderDirectory | None = None) -> Receipt:
    """Store and process one frame; never raises (a failure is answered AR: send it again).

    ``senders``: the listener's directory of HL7 interfaces (default: read them now)."""
    try:
        return _receive(frame, senders or SenderDirectory(max_age=0))
    except Exception:  # noqa: BLE001 - the listener must answer every frame
        logger.exception("HL7: unexpected error while receiving a frame")
        header = header_guess(ssn_redact(text_decode(frame.payload)))
        return _receipt(REJECT, header, [INTERNAL_ERROR])


def hl7_frames_receive(*, frames: list[Frame], senders: SenderDirectory | None = None) -> list[Receipt]:
    """Many frames (what the listener's connections sent while the previous batch was being
    processed): one receipt per frame, in order, each the same as ``hl7_frame_receive`` would
    give. Acceptable ORMs of one organization are stored and processed together through the
    order service's batch path (a few statements per batch instead of a dozen per message);
    anything else, and any batch that fails as a whole, goes one by one. Never raises."""
    senders = senders or SenderDirectory(max_age=0)
    receipts: list[Receipt | None] = [None] * len(frames)
    ready: dict[int, _Ready] = {}
    for index, frame in enumerate(frames):
        try:
            screened = _screen(frame, senders)
        except Exception:  # noqa: BLE001 - one by one below, which answers every frame
            screened = None
        if isinstance(screened, Receipt):
            receipts[index] = screened
        elif screened is not None:
            ready[index] = screened
    if ready:
        for index, receipt in _ready_process(ready).items():
            receipts[index] = receipt
    return [receipt or hl7_frame_receive(frame=frame, senders=senders) for frame, receipt in zip(frames, receipts)]


@dataclass
class _Ready:
    """A readable ORM^O01 from a known sender: to be stored and processed."""

    text: str
    message: ParsedMessage
    sender: Sender

    @property
    def header(self) -> Header:
        return self.message.header

    @property
    def organization(self) -> Organization:
        return self.sender.organization

    @cached_property
    def mapped(self) -> MappedOrder:
        return orm_map(self.message, interface=self.sender.interface, site_for_code=self.sender.site_for_code)


@dataclass
class _Refusal:
    """A frame answered AR before processing (stored as rejected, R11)."""

    text: str
    header: Header | None
    error: AckError


def _examine(frame: Frame, senders: SenderDirectory) -> _Ready | _Refusal:
    """The checks before storing and processing, shared by both paths: readable, an ORM^O01
    with a control id, from a sender an HL7 interface accepts. PID-19 is blanked first (R13)."""
    text = ssn_redact(text_decode(frame.payload))
    header = header_guess(text)
    if frame.problem:
        return _Refusal(text, header, AckError(frame.problem, None, 207 if frame.payload.strip() else 100))
    try:
        message = message_parse(text)
    except HL7ParseError as exc:
        code = 102 if exc.location == Location("MSH", 2) else 100
        return _Refusal(text, header, AckError(exc.reason, exc.location, code))
    header = message.header
    if header.message_type != "ORM" or header.trigger_event not in ACCEPTED_TRIGGERS:
        kind = "^".join(part for part in (header.message_type, header.trigger_event) if part) or "(none)"
        return _Refusal(text, header, AckError(
            f"MSH-9: unsupported message type '{kind}': only ORM^O01 is accepted", Location("MSH", 9), 200))
    if not header.control_id:
        return _Refusal(text, header, AckError("MSH-10 (message control id): required", Location("MSH", 10), 101))
    sender = senders.sender_for(header)
    if sender is None:
        return _Refusal(text, header, AckError(
            f"MSH-4: unknown sender: no active HL7 interface accepts MSH-3 '{header.sending_application}' "
            f"with MSH-4 '{header.sending_facility}'", Location("MSH", 4), 204))
    return _Ready(text, message, sender)


def _screen(frame: Frame, senders: SenderDirectory) -> Receipt | _Ready | None:
    """``_examine`` for the batch: a receipt for a refused frame, a ``_Ready`` for the batch,
    None for frames the one-by-one path takes (bytes outside a frame, mapping errors)."""
    if frame.junk:
        return None
    examined = _examine(frame, senders)
    if isinstance(examined, _Refusal):
        return _reject(examined.text, examined.header, examined.error)
    return None if examined.mapped.errors else examined


def _ready_process(ready: dict[int, _Ready]) -> dict[int, Receipt]:
    """Store and process the screened frames, one transaction per organization; frames whose
    MSH-10 was accepted before, or repeats one earlier in the batch, and the frames of an
    organization whose batch failed, are left to the one-by-one path (which answers replays)."""
    try:
        seen_before = _accepted_keys([item.header for item in ready.values()])
    except Exception:  # noqa: BLE001 - e.g. the database is down: one by one answers each frame
        logger.exception("HL7: replay check for a batch failed; processing it one by one")
        return {}
    by_organization: dict[int, list[tuple[int, _Ready]]] = {}
    keys = set()
    for index, item in ready.items():
        key = (item.header.sender, item.header.control_id)
        if key in seen_before or key in keys:
            continue
        keys.add(key)
        by_organization.setdefault(item.organization.pk, []).append((index, item))
    receipts = {}
    for entries in by_organization.values():
        try:
            receipts.update(_organization_batch(entries))
        except Exception:  # noqa: BLE001 - rolled back as a whole: these go one by one
            logger.exception("HL7: batch of %d messages failed; processing them one by one", len(entries))
    return receipts


def _organization_batch(entries: list[tuple[int, _Ready]]) -> dict[int, Receipt]:
    organization = entries[0][1].organization
    with transaction.atomic():
        rows = [inbound_build(channel=InboundChannel.HL7, body=item.text, sender=item.header.sender,
                              message_type=MESSAGE_TYPE, control_id=item.header.control_id, organization=organization)
                for _, item in entries]
        rows_insert(InboundMessage, rows)  # COPY on PostgreSQL
        batch = OrderBatch(organization=organization, channel=InboundChannel.HL7)
        results = batch.process_messages([(index, _request_body(item.mapped), row)
                                          for (index, item), row in zip(entries, rows)])
    receipts = {}
    for (index, item), row, result in zip(entries, rows, results):
        if row.status == InboundStatus.FAILED:
            receipts[index] = _receipt(REJECT, item.header, [INTERNAL_ERROR], inbound_id=row.pk)
        elif result.outcome == FAILED:
            receipts[index] = _receipt(ERROR, item.header, _ack_errors(result.errors, item.mapped), inbound_id=row.pk)
        else:
            receipts[index] = _receipt(ACCEPT, item.header, inbound_id=row.pk)
    logger.info("HL7: batch of %d messages for organization %s processed", len(entries), organization.pk)
    return receipts


def _accepted_keys(headers: list[Header]) -> set[tuple[str, str]]:
    """(sender, MSH-10) pairs among these that were accepted before (one query)."""
    found = InboundMessage.objects.filter(
        channel=InboundChannel.HL7, status=InboundStatus.PROCESSED,
        sender__in={h.sender for h in headers}, control_id__in={h.control_id for h in headers},
    ).values_list("sender", "control_id")
    return set(found)


def _receive(frame: Frame, senders: SenderDirectory) -> Receipt:
    if frame.junk:
        _store(text_decode(frame.junk), header=None, status=InboundStatus.REJECTED,
               error="bytes outside an MLLP frame (before its start block <VT>); not acknowledged")
    examined = _examine(frame, senders)
    if isinstance(examined, _Refusal):
        return _reject(examined.text, examined.header, examined.error)
    text, header = examined.text, examined.header
    previous = _accepted_before(header)
    if previous is not None:
        if _comparable(previous.body) == _comparable(text):
            logger.info("HL7 %s from %s: replay of inbound %s, acknowledged",
                        header.control_id, header.sender, previous.pk)
            return _receipt(ACCEPT, header, inbound_id=previous.pk)
        return _reject(text, header, AckError(
            f"MSH-10: '{header.control_id}' was already used for another message (inbound {previous.pk}); "
            "not processed", Location("MSH", 10), 205), code=ERROR, organization=examined.organization)
    return _process(text, header, examined.organization, examined.mapped)


def _process(text: str, header: Header, organization: Organization, mapped: MappedOrder) -> Receipt:
    try:
        with transaction.atomic():
            inbound = inbound_store(channel=InboundChannel.HL7, body=text, sender=header.sender,
                                    message_type=MESSAGE_TYPE, control_id=header.control_id, organization=organization)
            if mapped.errors:
                inbound_finish(inbound, status=InboundStatus.REJECTED,
                               error="; ".join(str(error) for error in mapped.errors))
                outcome = None
            else:
                outcome = order_request_process(
                    body=_request_body(mapped), channel=InboundChannel.HL7, sender=header.sender,
                    source=InboundChannel.HL7, organization=organization, inbound=inbound,
                    message_type=MESSAGE_TYPE, control_id=header.control_id)
    except Exception:  # noqa: BLE001 - rolled back: keep the raw message in its own transaction (R11)
        logger.exception("HL7 %s from %s: processing failed", header.control_id, header.sender)
        stored = _store(text, header=header, status=InboundStatus.FAILED, organization=organization,
                        error="internal error while processing; the message is kept for replay")
        return _receipt(REJECT, header, [INTERNAL_ERROR], inbound_id=stored)
    if outcome is None:
        return _receipt(ERROR, header, _ack_errors(mapped.errors, mapped), inbound_id=inbound.pk)
    if outcome.success:
        logger.info("HL7 %s from %s: accepted (inbound %s)", header.control_id, header.sender, inbound.pk)
        return _receipt(ACCEPT, header, inbound_id=inbound.pk)
    if outcome.inbound.status == InboundStatus.FAILED:
        return _receipt(REJECT, header, [INTERNAL_ERROR], inbound_id=inbound.pk)
    return _receipt(ERROR, header, _ack_errors(field_errors_parse(outcome.error), mapped), inbound_id=inbound.pk)


def _request_body(mapped: MappedOrder) -> OrderRequest | dict:
    """The OrderRequest when it is complete; otherwise the raw mapping, so that the order service
    itself rejects it and names every missing or invalid field."""
    try:
        request = OrderRequest.model_validate(mapped.data)
    except ValidationError:
        return mapped.data
    return mapped.data if request.required_errors() else request


def _accepted_before(header: Header) -> InboundMessage | None:
    """An accepted message from this sender with this MSH-10 (then this one is a resend)."""
    return (InboundMessage.objects
            .filter(channel=InboundChannel.HL7, sender=header.sender, control_id=header.control_id,
                    status=InboundStatus.PROCESSED)
            .only("pk", "body").order_by("pk").first())


def _comparable(text: str) -> str:
    """The message without MSH-7 (a resend may carry a new send time) and with CR separators."""
    segments = SEGMENT_BREAK.sub("\r", text.strip()).split("\r")
    if segments and segments[0].startswith("MSH") and len(segments[0]) > 3:
        fields = segments[0].split(segments[0][3])
        if len(fields) > 6:
            fields[6] = ""
        segments[0] = segments[0][3].join(fields)
    return "\r".join(segments)


def _ack_errors(errors: list[FieldError], mapped: MappedOrder) -> list[AckError]:
    result = []
    for error in errors:
        location = mapped.location_of(error.field) if error.field else None
        label = f"{location} ({error.field})" if location and error.field else (error.field or "")
        reason = f"{label}: {error.reason}" if label else error.reason
        result.append(AckError(reason, location, error_code_for(error.reason)))
    return result


def _reject(text: str, header: Header | None, error: AckError, *, code: str = REJECT, organization=None) -> Receipt:
    stored = _store(text, header=header, status=InboundStatus.REJECTED, error=error.reason, organization=organization)
    if header is not None:
        logger.info("HL7 %s from %s: %s (inbound %s)", header.control_id, header.sender, code, stored)
    return _receipt(code, header, [error], inbound_id=stored)


def _store(text: str, *, header: Header | None, status: str, error: str, organization=None) -> int | None:
    """Keep a message that will not reach the order service (R11); None if even that failed."""
    try:
        with transaction.atomic():
            inbound = inbound_store(
                channel=InboundChannel.HL7, body=text, sender=header.sender if header else "",
                message_type=MESSAGE_TYPE if header and header.message_type == "ORM" else
                ("^".join(p for p in (header.message_type, header.trigger_event) if p) if header else ""),
                control_id=header.control_id if header else "", organization=organization)
            inbound_finish(inbound, status=status, error=error)
        return inbound.pk
    except Exception:  # noqa: BLE001 - the ACK (AR) still tells the sender to try again
        logger.exception("HL7: could not store a rejected message")
        return None


def _receipt(code: str, header: Header | None, errors: list[AckError] = (), *,
             inbound_id: int | None = None) -> Receipt:
    return Receipt(ack=ack_build(code=code, header=header, errors=list(errors)).encode("utf-8"), code=code,
                   inbound_id=inbound_id)


__all__ = ["Receipt", "field_errors_parse", "hl7_frame_receive", "hl7_frames_receive"]
