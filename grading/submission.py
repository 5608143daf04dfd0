"""GradingSubmission messages (objectmodel/GradingSubmissionObject.md): how AI grading services
(and test environments) grade an order. Same exits as the order service: the raw message is
stored first (R11), processing runs in a savepoint, and a rejection names the field."""
import json
import logging
import re
from dataclasses import dataclass, field

from django.db import transaction

from orders.canonical import EventType, FieldError, GradingSubmission, RequestRejected
from orders.canonical.grading_submission import EyeGrading as EyeMessage
from orders.canonical.grading_submission import parse_grading_submission
from orders.models import InboundMessage, InboundStatus, Order
from orders.services.events import events_record, order_event
from orders.services.inbox import inbound_finish, inbound_store, redact_json_ssn, storable_text
from orders.services.order_request import organization_for_request
from organizations.models import Organization, User

from . import catalogue as cat
from .eyes import EyeInput
from .models import Grading, GradingSource
from .services import grading_submit

logger = logging.getLogger(__name__)

# "Other" may carry its subset in the finding name: "Other - Urgent", "Other (Severe)", "Other: Referable".
_OTHER = re.compile(r"^\s*other\s*(?:[-:(]\s*(?P<subset>[a-z -]+?)\s*\)?)?\s*$", re.I)


@dataclass
class GradingSubmissionOutcome:
    inbound: InboundMessage
    success: bool
    events: list[dict] = field(default_factory=list)
    grading: Grading | None = None
    error: str = ""


def ai_service_account() -> User | None:
    """The registered AI grading service account (of the host organization)."""
    return (User.objects.filter(is_ai_service=True, is_active=True, organization__is_host=True)
            .order_by("pk").first())


def grading_submission_process(*, body: str | bytes | dict, channel: str, sender: str = "",
                               organization: Organization | None = None, grader: User | None = None,
                               inbound: InboundMessage | None = None) -> GradingSubmissionOutcome:
    """``grader``: the authenticated submitter; by default the AI service account.
    ``organization``: the organization the channel authenticated (ClientGuid must match)."""
    with transaction.atomic():
        if inbound is None:
            text = json.dumps(body) if isinstance(body, dict) else storable_text(body)
            inbound = inbound_store(channel=channel, body=redact_json_ssn(text), sender=sender,
                                    message_type="GradingSubmission", organization=organization)
        return _process(inbound=inbound, body=body, organization=organization, grader=grader)


def _process(*, inbound, body, organization, grader) -> GradingSubmissionOutcome:
    applied = Grading.objects.filter(inbound_message=inbound).select_related("order", "order__patient").first()
    if applied is not None:  # a replay of a message already applied (R11: idempotent)
        again = order_event(EventType.GRADING_RECEIPT, applied.order,
                            warnings=["duplicate submission: this message was already applied; nothing changed"])
        events_record(organization=applied.order.organization, inbound=inbound, events=[again], actor=grader)
        inbound_finish(inbound, status=InboundStatus.PROCESSED, order=applied.order)
        return GradingSubmissionOutcome(inbound=inbound, success=True, events=[again[1]], grading=applied)
    submission: GradingSubmission | None = None
    org = organization
    order = None
    try:
        with transaction.atomic():
            submission = parse_grading_submission(body.encode() if isinstance(body, str) else body)
            org = organization_for_request(submission, organization)
            order = Order.objects.filter(organization=org, local_id=submission.local_id).first()
            if order is None:
                raise RequestRejected(FieldError("LocalId", f"no order '{submission.local_id}' in this organization"))
            grader = grader or ai_service_account()
            if grader is None:
                raise RequestRejected(FieldError("", "no AI grading service account is registered"))
            warnings: list[str] = []
            site = submission.site.local_id if submission.site else None
            if site and site != order.site.local_id:
                warnings.append(f"Site.LocalId: '{site}' differs from the order's site '{order.site.local_id}'; ignored")
            od = eye_from_message(submission.od, "OD", order, warnings)
            os = eye_from_message(submission.os, "OS", order, warnings)
            done = grading_submit(order=order, grader=grader, od=od, os=os, notes=submission.notes or "",
                                  source=GradingSource.SUBMISSION, inbound=inbound, warnings=warnings)
    except RequestRejected as exc:
        rejection = order_event(EventType.GRADING_RECEIPT, order, success=False, error=exc.message,
                                order_local_id=submission.local_id if submission else None)
        events_record(organization=org, inbound=inbound, events=[rejection], actor=grader)
        inbound_finish(inbound, status=InboundStatus.REJECTED, error=exc.message, order=order, organization=org)
        return GradingSubmissionOutcome(inbound=inbound, success=False, events=[rejection[1]], error=exc.message)
    except Exception as exc:  # noqa: BLE001 - keep the raw message, report, never crash a channel
        error = f"internal error while processing ({type(exc).__name__}); the message is kept for replay"
        logger.exception("inbound %s: grading submission failed", inbound.pk)
        failure = order_event(EventType.GRADING_RECEIPT, None, success=False, error=error,
                              order_local_id=submission.local_id if submission else None)
        events_record(organization=org, inbound=inbound, events=[failure], actor=grader)
        inbound_finish(inbound, status=InboundStatus.FAILED, error=error, organization=org)
        return GradingSubmissionOutcome(inbound=inbound, success=False, events=[failure[1]], error=error)
    inbound_finish(inbound, status=InboundStatus.PROCESSED, order=order, organization=org)
    return GradingSubmissionOutcome(inbound=inbound, success=True, events=done.events, grading=done.grading)


def eye_from_message(message: EyeMessage | None, side: str, order: Order, warnings: list[str]) -> EyeInput:
    """Map one EyeGrading of the message onto the catalogue's names (case-insensitive).
    Unknown names are kept as sent so that validation names them."""
    if message is None:
        if order.single_eye_only or order.missing_eye_reason:
            return EyeInput(missing_eye_reason=order.missing_eye_reason or "Single-eye-only order")
        return EyeInput()
    gradable = message.gradable
    if gradable is None and not message.missing_eye_reason:
        if message.findings:
            gradable = True
        elif message.ungradable_reasons:
            gradable = False
    eye = EyeInput(gradable=gradable, missing_eye_reason=message.missing_eye_reason or "",
                   ungradable_reasons=[cat.canonical_ungradable_reason(r) or r for r in message.ungradable_reasons])
    for index, answer in enumerate(message.findings):
        name, result = answer.finding or "", answer.result or ""
        other = _OTHER.match(name)
        if other:
            if eye.other_text:
                raise RequestRejected(FieldError(f"{side}.Findings[{index}].Finding", "only one Other finding per eye"))
            subset = other.group("subset")
            if subset and cat.canonical_subset(subset) is None:
                raise RequestRejected(FieldError(f"{side}.Findings[{index}].Finding", f"'{subset}' is not a subset of "
                                                 "Other (Not referable, Referable, Severe, Urgent)"))
            if not subset:
                warnings.append(f"{side}.Findings[{index}]: Other without a subset, taken as Referable")
            eye.other_text = result
            eye.other_subset = cat.canonical_subset(subset).value if subset else cat.OtherSubset.REFERABLE.value
            continue
        finding = cat.canonical_finding(name) or name
        condition = cat.catalogue_for_types(order.evaluation_types).diagnosed_by_name.get(finding)
        if condition is not None:
            result = cat.canonical_result(condition, result) or result
        eye.findings.append((finding, result))
    return eye
