"""The OrderResult builder: the one place an order (and its grading) becomes an OrderResult 2.3.1
(objectmodel/ResultObject.md). Every output format renders from what this returns."""
import datetime as dt
import os
import uuid

from django.db.models import Prefetch
from django.utils import timezone

from grading.models import Grading
from orders.models import Image, Order, OrderStatus
from orders.reference import GenderContext, ResultCode
from organizations.models import Provider

from . import schema as s
from .findings import eye_pathology_findings
from .icd10_text import icd10_description
from .images import ENHANCED_CONTEXTS, ORIGINAL_CONTEXTS, best_image, shows_eye

# Order.Status values of the IRIS result model (the Go client lists them).
_STATUS = {
    OrderStatus.AWAITING_IMAGES: "AwaitingImages",
    OrderStatus.READY_FOR_GRADING: "QueuedForGrading",
    OrderStatus.IN_GRADING: "CheckedOutForGrading",
    OrderStatus.COMPLETE: "Complete",
    OrderStatus.CANCELLED: "OrderCancelled",
}
# CMS descriptions of the CPT codes teleretinal screening uses, for orders that sent a bare code.
CPT_DESCRIPTIONS = {
    "92250": "Fundus photography with interpretation and report",
    "92227": "Remote imaging for detection of retinal disease, with analysis and report under physician supervision",
    "92228": "Remote imaging for monitoring and management of active retinal disease, with physician review, "
             "interpretation and report",
    "92229": "Imaging of retina for detection or monitoring of disease; point-of-care automated analysis and report",
}


def order_for_results(order_id: int) -> Order:
    """The order with everything the builder reads, in a few queries."""
    return (Order.objects.select_related(
        "patient", "site", "organization", "department", "ordering_provider", "referring_provider",
        "camera_operator", "primary_care_provider")
        .prefetch_related(Prefetch("images", queryset=Image.objects.select_related("device").order_by("pk")))
        .get(pk=order_id))


def grading_for_results(grading_id: int) -> Grading:
    return (Grading.objects.select_related("grader", "grader__provider")
            .prefetch_related("eyes").get(pk=grading_id))


def order_result_build(*, order: Order, grading: Grading | None, result_code: str = ResultCode.FINAL,
                       transaction_id: uuid.UUID | str | None = None, timestamp: dt.datetime | None = None,
                       document: dict | None = None) -> dict:
    """The OrderResult of ``order`` as a JSON-ready dict (key order of the published example).
    ``grading`` None gives ``Gradings: null`` (an order not graded yet, e.g. a CSV export row);
    ``document`` ({Type, Encoding, Content}) fills ResultsDocument."""
    images = list(order.images.all())
    preferred = {img.pk for img in (best_image(images, side) for side in ("OD", "OS")) if img is not None}
    result = s.OrderResult(
        timestamp=timestamp or timezone.now(),
        transaction_id=str(transaction_id or uuid.uuid4()),
        result_code=str(result_code),
        site=_site(order),
        results_document=s.ResultsDocument(**document) if document else None,
        image_details=_image_details(order, images, bool(preferred)),
        images=[_image(img, img.pk in preferred) for img in images],
        order=_order(order),
        patient=_patient(order),
        ordering_provider=provider_node(order.ordering_provider),
        gradings=_gradings(grading, order, images) if grading is not None else None,
        camera_operator=_camera_operator(order),
        health_plan=_health_plan(order),
        cpt=_cpt(order),
        referring_provider=provider_node(order.referring_provider),
    )
    return result.model_dump(mode="json")


def _blank_none(value):
    return value if value not in ("", None) else None


def _site(order: Order) -> s.Site:
    site = order.site
    address = s.Address(street1=_blank_none(site.street1), street2=_blank_none(site.street2),
                        city=_blank_none(site.city), state=_blank_none(site.state),
                        postal_code=_blank_none(site.postal_code))
    has_address = any(value is not None for value in address.model_dump().values())
    return s.Site(local_id=site.local_id, name=site.name or None, address=address if has_address else None)


def _image_details(order: Order, images: list[Image], preferred: bool) -> s.ImageDetails:
    def count(side: str, contexts=None) -> int:
        return sum(1 for img in images if shows_eye(img, side) and (contexts is None or img.image_context in contexts))

    sides_imaged = [side for side in ("OD", "OS") if count(side)]
    return s.ImageDetails(
        total_count=len(images),
        right_eye_count=count("OD"), right_eye_original_count=count("OD", ORIGINAL_CONTEXTS),
        right_eye_enhanced_count=count("OD", ENHANCED_CONTEXTS),
        left_eye_count=count("OS"), left_eye_original_count=count("OS", ORIGINAL_CONTEXTS),
        left_eye_enhanced_count=count("OS", ENHANCED_CONTEXTS),
        preferred=preferred,
        single_eye_only=bool(order.single_eye_only) or len(sides_imaged) == 1,
    )


def _image(img: Image, preferred: bool) -> s.Image:
    device = img.device
    camera = None
    if device is not None:
        camera = s.Camera(local_id=device.local_id, location=_blank_none(device.location),
                          ip_address=_blank_none(device.ip_address), mac_address=_blank_none(device.mac_address),
                          serial_number=_blank_none(device.serial_number),
                          manufacturer=_blank_none(device.manufacturer), model=_blank_none(device.model),
                          software_version=_blank_none(device.software_version))
    return s.Image(local_id=_blank_none(img.local_id), taken=img.taken_at, received=img.received_at,
                   file_name=os.path.basename(img.file.name or ""), laterality=img.laterality,
                   image_context=img.image_context, parent_local_id=_blank_none(img.parent_local_id),
                   group_id=img.group_id, group_ordinal=img.group_ordinal, camera=camera,
                   order_image_id=img.pk, preferred=preferred)


def _order(order: Order) -> s.Order:
    return s.Order(
        patient_order_id=order.pk, status=_STATUS.get(order.status, order.status), local_id=order.local_id,
        evaluation_types=list(order.evaluation_types), scheduled_time=order.scheduled_time,
        created_time=order.created_at, service_date=order.serviced_at, serviced_time=order.serviced_at,
        department_id=order.department.local_id if order.department else None,
        encounter_number=_blank_none(order.encounter_number),
        study_instance_unique_id=_blank_none(order.study_instance_uid),
        orderable_identifier=_blank_none(order.orderable_identifier),
        additional_info=_blank_none(order.additional_info), state=order.state,
        single_eye_only=bool(order.single_eye_only), missing_eye_reason=_blank_none(order.missing_eye_reason),
    )


def _patient(order: Order) -> s.Patient:
    patient = order.patient
    genders = [s.PersonGender(context=context, gender=value) for context, value in (
        (GenderContext.BIRTH, patient.birth_gender), (GenderContext.IDENTITY, patient.identity_gender)) if value]
    return s.Patient(patient_id=patient.pk, local_id=patient.local_id,
                     name=s.Name(first=patient.first_name or None, last=patient.last_name or None),
                     dob=patient.dob, gender=patient.gender, genders=genders, phone=_blank_none(patient.phone))


def provider_node(provider: Provider | None) -> s.Provider | None:
    if provider is None:
        return None
    return s.Provider(npi=provider.npi, taxonomy=_blank_none(provider.taxonomy),
                      name=s.ProviderName(first=_blank_none(provider.first_name), last=_blank_none(provider.last_name)),
                      email=_blank_none(provider.email), degrees=_blank_none(provider.degrees),
                      associations=_blank_none(provider.associations))


def _grader_node(grading: Grading) -> s.Provider:
    grader = grading.grader
    node = provider_node(grader.provider)
    if node is not None:
        return node
    # AI grading services have no NPI: name the service account.
    return s.Provider(name=s.ProviderName(first=grader.first_name or grader.get_username(),
                                          last=_blank_none(grader.last_name)))


def _eye(grading: Grading, side: str) -> s.EyeSideGrading | None:
    eye = grading.eye(side)
    if eye is None:
        return s.EyeSideGrading(gradable=None)
    if eye.gradable is None:
        return s.EyeSideGrading(gradable=None, missing_eye_reason=_blank_none(eye.missing_eye_reason))
    if eye.gradable is False:
        reasons = [eye.ungradable_reason] if eye.ungradable_reason else []
        return s.EyeSideGrading(gradable=False, ungradable_reasons=reasons)
    findings = eye_pathology_findings(eye.findings, eye.other_text, eye.other_subset)
    return s.EyeSideGrading(gradable=True, findings=[s.Finding(**f) for f in findings] if findings else None)


def _gradings(grading: Grading, order: Order, images: list[Image]) -> s.Gradings:
    # ResultObject.md: "If no left eye images you will not have an OS node".
    eyes = {side: _eye(grading, side) if any(shows_eye(img, side) for img in images) else None for side in ("OD", "OS")}
    codes = list(grading.icd10_codes or [])
    return s.Gradings(
        notes=[s.Note(date=grading.graded_at, text=grading.notes)] if grading.notes else [],
        graded_time=grading.graded_at, queued_time=grading.queued_at,
        care_plan_name=_blank_none(grading.care_plan_title),
        care_plan_description=_blank_none(grading.care_plan_instructions),
        pathology=grading.pathology, urgent=grading.urgent, emergent=grading.emergent,
        od=eyes["OD"], os=eyes["OS"], dx_codes=codes, provider=_grader_node(grading),
        diagnosis_codes=[s.DiagnosisCode(code=code, description=icd10_description(code)) for code in codes],
        severity=grading.severity or None,
    )


def _camera_operator(order: Order) -> s.CameraOperator | None:
    info = order.camera_operator_info or {}
    provider = order.camera_operator
    if not info and provider is None:
        return None
    first = info.get("first_name") or (provider.first_name if provider else None)
    last = info.get("last_name") or (provider.last_name if provider else None)
    user_name = info.get("user_name") or info.get("email") or (provider.email if provider else None)
    return s.CameraOperator(user_name=_blank_none(user_name),
                            name=s.Name(first=_blank_none(first), last=_blank_none(last)))


def _health_plan(order: Order) -> s.HealthPlan | None:
    values = (order.health_plan_local_id, order.health_plan_name, order.health_plan_member_id)
    if not any(values):
        return None
    return s.HealthPlan(local_id=_blank_none(values[0]), name=_blank_none(values[1]), member_id=_blank_none(values[2]))


def _cpt(order: Order) -> s.Cpt | None:
    if not order.cpt_code:
        return None
    return s.Cpt(code=order.cpt_code, description=order.cpt_description or CPT_DESCRIPTIONS.get(order.cpt_code))
