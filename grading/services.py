"""Grading writes: claims, submitting a grading (R9), corrections.

``grading_submit`` is the one place a grading is made, whether a grader fills in the form or a
GradingSubmission message arrives (grading/submission.py)."""
import datetime as dt
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.module_loading import import_string

from orders.canonical import EventType, FieldError, RequestRejected
from orders.models import InboundMessage, Order, OrderExam, OrderStatus
from orders.reference import EVALUATION_TYPE_BY_CODE
from orders.services.events import events_record, order_event

from . import catalogue as cat
from .careplans import care_plan_choose
from .eyes import EYES, EyeInput, eyes_assess, eyes_validate
from .icd10 import icd10_codes
from .models import EyeGrading, Grading, GradingSource, OrderClaim, Severity
from .selectors import GRADABLE_STATUSES, licensed_states

logger = logging.getLogger(__name__)


class GradingForbidden(RequestRejected):
    """The user may not grade this order (R9, or the order is claimed by someone else)."""


@dataclass
class GradingDone:
    grading: Grading
    events: list[dict] = field(default_factory=list)


def _claim_lifetime() -> dt.timedelta:
    return dt.timedelta(minutes=settings.IRIS_GRADING_CLAIM_MINUTES)


def grader_check(*, order: Order, grader) -> None:
    """R9: AI-read types only by AI service accounts; human-read types only by a grader licensed
    in the order's state."""
    types = ", ".join(order.evaluation_types)
    if cat.is_ai_read(order.evaluation_types):
        if not (grader.is_active and grader.is_ai_service):
            raise GradingForbidden(FieldError("LocalId", f"evaluation type {types} is read by an AI grading service; "
                                                         "only its registered service account may grade it"))
        return
    if grader.is_ai_service and not grader.is_grader:
        raise GradingForbidden(FieldError("LocalId", f"evaluation type {types} is read by licensed graders, "
                                                     "not by an AI service account"))
    if order.state not in licensed_states(user=grader):
        raise GradingForbidden(FieldError("LocalId", f"grader '{grader.get_username()}' holds no license "
                                                     f"for the exam state {order.state}"))


def _gradable_check(order: Order, grader) -> None:
    if order.status == OrderStatus.AWAITING_IMAGES:
        raise RequestRejected(FieldError("LocalId", f"order '{order.local_id}' has no images yet (awaiting images)"))
    if order.status == OrderStatus.COMPLETE:
        raise RequestRejected(FieldError("LocalId", f"order '{order.local_id}' is already graded; "
                                                    "platform staff can reopen it for a correction"))
    if order.status == OrderStatus.CANCELLED:
        raise RequestRejected(FieldError("LocalId", f"order '{order.local_id}' is cancelled"))
    claim = OrderClaim.objects.filter(order=order).first()
    if claim and claim.grader_id != grader.pk and claim.expires_at > timezone.now():
        raise GradingForbidden(FieldError("LocalId", f"order '{order.local_id}' is claimed by another grader"))


def _locked(order: Order) -> Order:
    return (Order.objects.select_for_update(of=("self",)).select_related("patient", "site", "organization")
            .get(pk=order.pk))


# ---------------------------------------------------------------------------------------------
# Claims


def order_claim(*, order: Order, grader) -> OrderClaim:
    """Claim an order for grading; two graders never hold the same order. The Order row lock
    serialises claimers and the one-claim-per-order constraint backs it up; an expired claim is
    taken over with a conditional UPDATE."""
    now = timezone.now()
    with transaction.atomic():
        order = _locked(order)
        grader_check(order=order, grader=grader)
        if order.status not in GRADABLE_STATUSES:
            raise RequestRejected(FieldError("LocalId", f"order '{order.local_id}' is not ready for grading ({order.status})"))
        expires = now + _claim_lifetime()
        taken = (OrderClaim.objects.filter(order=order).filter(Q(expires_at__lte=now) | Q(grader=grader))
                 .update(grader=grader, claimed_at=now, expires_at=expires))
        if not taken:
            try:
                with transaction.atomic():
                    OrderClaim.objects.create(order=order, grader=grader, claimed_at=now, expires_at=expires)
            except IntegrityError:
                raise GradingForbidden(FieldError("LocalId", f"order '{order.local_id}' is claimed by another grader")) from None
        if order.status != OrderStatus.IN_GRADING:
            order.status = OrderStatus.IN_GRADING
            order.save(update_fields=["status", "updated_at"])
        return OrderClaim.objects.get(order=order)


def order_release(*, order: Order, grader) -> None:
    """Give a claimed order back to the queue."""
    with transaction.atomic():
        order = _locked(order)
        deleted, _ = OrderClaim.objects.filter(order=order, grader=grader).delete()
        if deleted and order.status == OrderStatus.IN_GRADING:
            order.status = OrderStatus.READY_FOR_GRADING
            order.save(update_fields=["status", "updated_at"])


def order_claims_expire() -> int:
    """Return orders whose claim has expired to ready_for_grading (a sweep; the queue already
    offers them again)."""
    now = timezone.now()
    expired = list(OrderClaim.objects.filter(expires_at__lte=now).values_list("order_id", flat=True))
    with transaction.atomic():
        OrderClaim.objects.filter(order_id__in=expired, expires_at__lte=now).delete()
        return Order.objects.filter(pk__in=expired, status=OrderStatus.IN_GRADING).update(
            status=OrderStatus.READY_FOR_GRADING, updated_at=now)


# ---------------------------------------------------------------------------------------------
# Grading


def grading_submit(*, order: Order, grader, od: EyeInput, os: EyeInput, notes: str = "",
                   source: str = GradingSource.PORTAL, inbound: InboundMessage | None = None,
                   warnings: list[str] | None = None) -> GradingDone:
    """Validate and store a grading; the order becomes complete. Raises RequestRejected (or
    GradingForbidden) naming the field and the reason; nothing is changed then."""
    with transaction.atomic():
        order = _locked(order)
        grader_check(order=order, grader=grader)
        _gradable_check(order, grader)
        catalogue = cat.catalogue_for_types(order.evaluation_types)
        eyes = {"OD": od, "OS": os}
        errors = eyes_validate(catalogue=catalogue, eyes=eyes)
        if errors:
            raise RequestRejected(errors)
        assessment = eyes_assess(catalogue=catalogue, eyes=eyes)
        choice = care_plan_choose(site=order.site, evaluation_types=order.evaluation_types, keys=assessment.keys)
        codes = icd10_codes(dx_code=order.patient.dx_code,
                            od=od.findings_map() if od.gradable else None,
                            os=os.findings_map() if os.gradable else None)
        now = timezone.now()
        previous = Grading.objects.select_for_update().filter(order=order, superseded=False).first()
        if previous is not None:
            previous.superseded, previous.superseded_at = True, now
            previous.save(update_fields=["superseded", "superseded_at"])
        version = (Grading.objects.filter(order=order).aggregate(v=Max("version"))["v"] or 0) + 1
        severity = assessment.severity
        if choice.emergent and severity:
            severity = Severity.CRITICAL
        plan = choice.plan
        grading = Grading.objects.create(
            order=order, version=version, grader=grader, source=source, inbound_message=inbound, graded_at=now,
            queued_at=order.serviced_at, notes=(notes or "").strip(), care_plan=plan,
            care_plan_title=plan.title if plan else "", care_plan_instructions=plan.instructions if plan else "",
            care_plan_level=plan.level if plan else "", icd10_codes=codes, pathology=assessment.pathology,
            urgent=choice.urgent, emergent=choice.emergent, severity=severity,
        )
        EyeGrading.objects.bulk_create([_eye_row(grading, side, eyes[side]) for side in EYES])
        order.status = OrderStatus.COMPLETE
        order.graded_at = now
        order.save(update_fields=["status", "graded_at", "updated_at"])
        OrderExam.objects.filter(order=order).update(is_open=False)  # R5 mirror
        OrderClaim.objects.filter(order=order).delete()
        extra = list(warnings or [])
        if version > 1:
            extra.append(f"correction: grading version {version} supersedes version {version - 1}")
        events = [order_event(EventType.GRADING_RECEIPT, order, warnings=extra),
                  order_event(EventType.ORDER_GRADED, order)]
        events_record(organization=order.organization, inbound=inbound, events=events, actor=grader)
        grading_id = grading.pk
        if grading.emergent:
            transaction.on_commit(lambda: _emergency_enqueue(grading_id))
        transaction.on_commit(lambda: _results_generate(grading_id))
    logger.info("order %s graded (grading %s, version %s)", order.pk, grading.pk, version)
    return GradingDone(grading=grading, events=[payload for _, payload in events])


def _eye_row(grading: Grading, side: str, eye: EyeInput) -> EyeGrading:
    gradable = None if eye.is_missing else bool(eye.gradable)
    return EyeGrading(
        grading=grading, laterality=side, gradable=gradable,
        ungradable_reason=cat.canonical_ungradable_reason(eye.ungradable_reason) or "" if gradable is False else "",
        missing_eye_reason=eye.missing_eye_reason if gradable is None else "",
        findings=[{"Finding": f, "Result": r or None} for f, r in eye.findings] if gradable else [],
        other_text=eye.other_text.strip() if gradable else "",
        other_subset=cat.canonical_subset(eye.other_subset).value if gradable and eye.other_text else "",
    )


def _emergency_enqueue(grading_id: int) -> None:
    from .tasks import emergency_contacts_notify_task

    emergency_contacts_notify_task.delay(grading_id)


def _results_generate(grading_id: int) -> None:
    """Hand the grading to results generation (the results issue sets the handler)."""
    path = settings.IRIS_RESULTS_GENERATE_HANDLER
    if not path:
        return
    try:
        import_string(path)(grading_id)
    except Exception:  # noqa: BLE001 - the grading is committed; results can be regenerated
        logger.exception("results handler failed for grading %s", grading_id)


def grading_reopen(*, order: Order, by) -> Order:
    """Send a graded order back for regrading (platform staff only). The current grading stays
    until the new one supersedes it; its results then go out as a correction (ResultCode C)."""
    if not (by.is_active and by.is_staff and (by.is_superuser or getattr(by.organization, "is_host", False))):
        raise GradingForbidden(FieldError("", "only platform staff can reopen a graded order"))
    with transaction.atomic():
        order = _locked(order)
        if order.status != OrderStatus.COMPLETE or not order.gradings.filter(superseded=False).exists():
            raise RequestRejected(FieldError("LocalId", f"order '{order.local_id}' is not graded ({order.status})"))
        try:
            with transaction.atomic():
                OrderExam.objects.filter(order=order).update(is_open=True)  # R5 mirror
        except IntegrityError:
            raise RequestRejected(FieldError("LocalId", "the patient has a newer open order of the same evaluation "
                                                        "type; it must be completed or cancelled first")) from None
        order.status = OrderStatus.READY_FOR_GRADING
        order.save(update_fields=["status", "updated_at"])
        events_record(organization=order.organization, events=[order_event(
            EventType.READY_FOR_GRADING, order, warnings=["reopened for a corrected grading"])], actor=by)
    return order


def eye_input_from_grading(grading: Grading, side: str) -> EyeInput:
    """The EyeInput that would reproduce a stored eye (used to prefill a correction)."""
    eye = grading.eye(side)
    if eye is None:
        return EyeInput()
    return EyeInput(gradable=eye.gradable, ungradable_reasons=[eye.ungradable_reason] if eye.ungradable_reason else [],
                    missing_eye_reason=eye.missing_eye_reason,
                    findings=[(item["Finding"], item.get("Result") or "") for item in eye.findings],
                    other_text=eye.other_text, other_subset=eye.other_subset)


def evaluation_labels(order: Order) -> str:
    return ", ".join(EVALUATION_TYPE_BY_CODE[code].description for code in order.evaluation_types)
