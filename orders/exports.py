"""CSV export of the Order Manager's filtered set, with the headers of IRIS's results CSV
("CSV Field Descriptions", integration/Results/Resultsgeneration.md). Grading columns come from
the current grading, "Results Sent Date" from the deliveries, when those parts are installed."""
from django.apps import apps
from django.db.models import Case, Count, Exists, Max, OuterRef, Prefetch, QuerySet, Subquery, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Image

HEADERS = [
    "Order Id", "Order Local Id", "Scheduled Date", "Order Status", "Evaluation Type(s)", "Exam Location",
    "Patient Name", "Patient Gender", "Patient DOB", "Patient MRN", "Patient Phone Number", "Camera Operator",
    "Ordering Provider", "Interpreting Provider", "Interpretation Date", "Findings", "Diagnoses", "CPT",
    "Care Plan", "Original images", "Camera Operator Notes", "Interpreting Provider Notes", "Results Sent Date",
    "Order State", "Order Creation Source",
]
CHUNK = 2000


def _date(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _provider(provider) -> str:
    return f"{provider.display_name} (NPI {provider.npi})".strip() if provider else ""


def _findings(grading) -> str:
    items = []
    for eye in grading.eyes.all():
        items += [f"{eye.laterality} {item.get('Finding')}: {item.get('Result') or ''}".strip() for item in eye.findings]
        if eye.gradable is False:
            items.append(f"{eye.laterality} ungradable: {eye.ungradable_reason}")
    return " | ".join(items)


def _annotated(queryset: QuerySet) -> QuerySet:
    """Counts and dates per order as subqueries (joins would multiply rows), gradings prefetched."""
    images = Image.objects.filter(order=OuterRef("pk")).order_by().values("order").annotate(n=Count("pk")).values("n")
    queryset = queryset.select_related("ordering_provider", "camera_operator").annotate(
        image_count=Coalesce(Subquery(images), 0))
    Delivery = _model("delivery.Delivery")
    if Delivery is not None:  # "all items delivered": the last delivery time, when none is outstanding
        mine = Delivery.objects.filter(order=OuterRef("pk")).order_by()
        last = mine.values("order").annotate(at=Max("delivered_at")).values("at")
        outstanding = mine.exclude(state="delivered")
        queryset = queryset.annotate(results_sent_at=Case(When(Exists(outstanding), then=None),
                                                          default=Subquery(last)))
    Grading = _model("grading.Grading")
    if Grading is not None:
        current = Grading.objects.filter(superseded=False).select_related("grader__provider").prefetch_related("eyes")
        queryset = queryset.prefetch_related(Prefetch("gradings", queryset=current, to_attr="current_gradings"))
    return queryset


def _model(label: str):
    try:
        return apps.get_model(label)
    except LookupError:
        return None


def order_export_rows(queryset: QuerySet):
    """Header, then one row per order; reads in chunks so a large export stays flat in memory."""
    yield HEADERS
    queryset = _annotated(queryset)
    for order in queryset.iterator(chunk_size=CHUNK):
        patient = order.patient
        gradings = getattr(order, "current_gradings", [])
        grading = gradings[0] if gradings else None
        operator = order.camera_operator_info or {}
        yield [
            order.pk, order.local_id, _date(order.scheduled_time), order.get_status_display(),
            ", ".join(order.evaluation_types), order.site.name, f"{patient.first_name} {patient.last_name}",
            patient.gender, patient.dob.isoformat(), patient.local_id, patient.phone,
            _provider(order.camera_operator) or " ".join(filter(None, [operator.get("first_name"), operator.get("last_name")])),
            _provider(order.ordering_provider),
            _provider(getattr(grading.grader, "provider", None)) if grading else "",
            _date(grading.graded_at) if grading else "",
            _findings(grading) if grading else "",
            ", ".join(grading.icd10_codes) if grading else "",
            order.cpt_code, grading.care_plan_title if grading else "", order.image_count, order.additional_info,
            grading.notes if grading else "", _date(getattr(order, "results_sent_at", None)), order.state,
            order.get_source_display(),
        ]
