"""Orders, their exam slots (R5), images, the raw inbox (R11) and the event timeline."""
import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q

from iris_portal.fast_models import FastLoadModel
from organizations.models import Department, Device, Organization, Provider, Site
from organizations.us_states import STATE_CHOICES
from patients.models import Patient

from .reference import EVALUATION_TYPE_CHOICES, ImageContext, Laterality


class OrderStatus(models.TextChoices):
    AWAITING_IMAGES = "awaiting_images", "Awaiting images"
    READY_FOR_GRADING = "ready_for_grading", "Ready for grading"
    IN_GRADING = "in_grading", "In grading"
    COMPLETE = "complete", "Complete"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (OrderStatus.AWAITING_IMAGES, OrderStatus.READY_FOR_GRADING, OrderStatus.IN_GRADING)


class OrderSource(models.TextChoices):
    WEB = "web", "Web"
    CSV = "csv", "CSV/XLSX import"
    HL7 = "hl7", "HL7"
    CLOUDDIRECT = "clouddirect", "Cloud Direct"
    FHIR = "fhir", "FHIR"
    CLI = "cli", "Command line"


# Order foreign keys that intake leaves empty on most orders (partial indexes, see Order.Meta).
SPARSE_FOREIGN_KEYS = {"device": "device", "referring_provider": "referring", "camera_operator": "operator",
                       "primary_care_provider": "pcp"}  # field: short name for the index


class Order(FastLoadModel):
    # organization and site: no index of their own (db_index=False), the composite indexes and
    # the unique constraint below lead with them; every bulk-imported row spared two entries.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="orders", db_index=False)
    patient = models.ForeignKey(Patient, on_delete=models.PROTECT, related_name="orders")
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="orders", db_index=False)
    department = models.ForeignKey(Department, on_delete=models.SET_NULL, null=True, blank=True)
    device = models.ForeignKey(Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="orders",
                               db_index=False)
    local_id = models.CharField("order id", max_length=64)
    evaluation_types = models.JSONField(help_text="Evaluation type codes (one or more).")
    state = models.CharField("exam state", max_length=2, choices=STATE_CHOICES)
    status = models.CharField(max_length=20, choices=OrderStatus.choices, default=OrderStatus.AWAITING_IMAGES)
    source = models.CharField(max_length=20, choices=OrderSource.choices)
    scheduled_time = models.DateTimeField(null=True, blank=True)
    encounter_number = models.CharField(max_length=64, blank=True)
    cpt_code = models.CharField("CPT code", max_length=20, blank=True)
    cpt_description = models.CharField("CPT description", max_length=200, blank=True)
    orderable_identifier = models.CharField(max_length=64, blank=True)
    study_instance_uid = models.CharField(max_length=128, blank=True)
    additional_info = models.TextField(blank=True)
    single_eye_only = models.BooleanField(null=True, blank=True)
    missing_eye_reason = models.CharField(max_length=200, blank=True)
    urgent = models.BooleanField(default=False)
    ordering_provider = models.ForeignKey(
        Provider, on_delete=models.SET_NULL, null=True, blank=True, related_name="ordered_orders"
    )
    referring_provider = models.ForeignKey(
        Provider, on_delete=models.SET_NULL, null=True, blank=True, related_name="referred_orders", db_index=False
    )
    camera_operator = models.ForeignKey(
        Provider, on_delete=models.SET_NULL, null=True, blank=True, related_name="operated_orders", db_index=False
    )
    camera_operator_info = models.JSONField(
        default=dict, blank=True, help_text="Camera operator as submitted (name, email, user name)."
    )
    health_plan_local_id = models.CharField(max_length=64, blank=True)
    health_plan_name = models.CharField(max_length=200, blank=True)
    health_plan_member_id = models.CharField(max_length=64, blank=True)
    health_plan_individual_id = models.CharField(max_length=64, blank=True)
    primary_care_provider = models.ForeignKey(
        Provider, on_delete=models.SET_NULL, null=True, blank=True, related_name="pcp_orders", db_index=False
    )
    pcp_email = models.CharField("PCP email / Direct address", max_length=254, blank=True)
    pcp_fax = models.CharField("PCP fax", max_length=40, blank=True)
    user_name_submitting = models.CharField(max_length=150, blank=True)
    warnings = models.JSONField(default=list, blank=True, help_text="Non-blocking issues, e.g. an NPI check digit.")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    serviced_at = models.DateTimeField(null=True, blank=True)
    graded_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Also the Order Manager's order-id search (``LIKE 'x%'`` on PostgreSQL, through the
            # operator class): one index for both, one entry per order.
            models.UniqueConstraint(fields=["organization", "local_id"], name="order_local_id_unique",
                                    opclasses=["", "varchar_pattern_ops"]),
        ]
        indexes = [
            models.Index(fields=["organization", "status", "-created_at"], name="order_org_status_idx"),
            models.Index(fields=["organization", "-created_at"], name="order_org_created_idx"),
            models.Index(fields=["site", "-created_at"], name="order_site_created_idx"),
            # The dashboard's "results this week" and turnaround chart (graded_at ranges).
            models.Index(fields=["organization", "graded_at"], name="order_org_graded_idx"),
            # Foreign keys most orders leave empty: only the rows that have one are indexed (what
            # reads them, and PostgreSQL's ON DELETE SET NULL, look one value up).
            *(models.Index(fields=[name], condition=Q(**{f"{name}__isnull": False}), name=f"order_{short}_idx")
              for name, short in SPARSE_FOREIGN_KEYS.items()),
        ]

    def __str__(self) -> str:
        return f"Order {self.local_id}"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class OrderExam(models.Model):
    """One row per (order, evaluation type). ``is_open`` mirrors the order's status so that a
    partial unique index enforces R5 (one open order per patient and evaluation type) in the
    database, also for orders with several evaluation types."""

    # order: indexed by order_exam_unique (order, evaluation_type), not on its own.
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="exams", db_index=False)
    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="+")
    evaluation_type = models.CharField(max_length=20, choices=EVALUATION_TYPE_CHOICES)
    is_open = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "evaluation_type"], name="order_exam_unique"),
            models.UniqueConstraint(
                fields=["patient", "evaluation_type"], condition=Q(is_open=True),
                name="one_open_order_per_patient_and_evaluation_type",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.order_id}:{self.evaluation_type}"


def image_upload_to(instance: "Image", filename: str) -> str:
    return f"images/{instance.order.organization_id}/{instance.order_id}/{filename}"


class Image(FastLoadModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="images")
    laterality = models.CharField(max_length=2, choices=Laterality.choices)
    image_context = models.CharField(max_length=20, choices=ImageContext.choices, default=ImageContext.PRIMARY)
    local_id = models.CharField(max_length=128, blank=True)
    parent_local_id = models.CharField(max_length=128, blank=True)
    group_id = models.IntegerField(null=True, blank=True)
    group_ordinal = models.IntegerField(null=True, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    file = models.FileField(upload_to=image_upload_to, max_length=300)
    content_type = models.CharField(max_length=100, blank=True)
    device = models.ForeignKey(Device, on_delete=models.SET_NULL, null=True, blank=True)

    class Meta:
        ordering = ["received_at"]

    def __str__(self) -> str:
        return f"{self.laterality} {self.local_id or self.pk}"


class InboundChannel(models.TextChoices):
    WEB = "web", "Web form"
    CSV = "csv", "CSV/XLSX"
    HL7 = "hl7", "HL7 v2"
    CLOUDDIRECT = "clouddirect", "Cloud Direct"
    CLI = "cli", "Command line"
    FHIR = "fhir", "FHIR"


class InboundStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    PROCESSED = "processed", "Processed"
    REJECTED = "rejected", "Rejected"
    FAILED = "failed", "Failed (error while processing)"
    DEAD_LETTER = "dead_letter", "Dead letter (gave up after repeated failures)"


class InboundMessage(models.Model):
    """Every message from every channel, stored raw (minus SSN, R13) before processing (R11)."""

    channel = models.CharField(max_length=20, choices=InboundChannel.choices)
    sender = models.CharField(max_length=200, blank=True)
    message_type = models.CharField(max_length=50, blank=True, help_text="e.g. OrderRequest, ORM^O01.")
    control_id = models.CharField(max_length=200, blank=True, help_text="Sender's message id, if any.")
    organization = models.ForeignKey(
        Organization, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_messages"
    )
    body = models.TextField()
    body_sha256 = models.CharField(max_length=64, db_index=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    status = models.CharField(max_length=20, choices=InboundStatus.choices, default=InboundStatus.RECEIVED)
    error = models.TextField(blank=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="inbound_messages")

    class Meta:
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["channel", "sender", "control_id"], name="inbound_control_id_idx")]

    def __str__(self) -> str:
        return f"{self.channel} #{self.pk} ({self.status})"

    @staticmethod
    def hash_body(body: str) -> str:
        return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


class OrderEvent(FastLoadModel):
    """An emitted event (OrderCreationReceipt, OrderCancelled, ...): the order's timeline and the
    record of what was published to the customer."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, null=True, blank=True, related_name="events"
    )
    order = models.ForeignKey(Order, on_delete=models.CASCADE, null=True, blank=True, related_name="events")
    inbound_message = models.ForeignKey(
        InboundMessage, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    event_type = models.CharField(max_length=40)
    transaction_id = models.UUIDField(unique=True)
    timestamp = models.DateTimeField(db_index=True)
    success = models.BooleanField(default=True)
    error_message = models.TextField(blank=True)
    payload = models.JSONField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                              db_index=False)
    published_at = models.DateTimeField(
        null=True, blank=True, help_text="When a channel publisher (e.g. the Cloud Direct events stream) sent it."
    )

    class Meta:
        ordering = ["timestamp", "id"]
        indexes = [  # most events have no actor (intake channels): only those with one are indexed
            models.Index(fields=["actor"], condition=Q(actor__isnull=False), name="order_event_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.transaction_id}"


# =============================================================================================
# CSV / XLSX bulk import (issue 5): the per-organization column mapping, import jobs and their
# row errors. The logic lives in orders/intake/csv/; these are only the records.


def import_upload_to(instance: "ImportJob", filename: str) -> str:
    from django.utils import timezone  # noqa: PLC0415 - this section keeps its imports to itself

    return f"imports/{instance.organization_id}/{timezone.now():%Y/%m}/{filename}"


def mapping_sample_upload_to(instance: "ImportMapping", filename: str) -> str:
    return f"imports/{instance.organization_id}/mapping-sample/{filename}"


class ImportMapping(models.Model):
    """How one organization's files map to OrderRequest fields.

    ``columns``: normalised file header -> target field path (``""`` ignores the column); a
    header not listed falls back to the default mapping (the IRIS intake field names).
    ``defaults``: target field path -> value used when the file has no such column or the cell
    is blank (e.g. the evaluation type when a file holds only DR orders)."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="import_mapping")
    columns = models.JSONField(default=dict, blank=True)
    defaults = models.JSONField(default=dict, blank=True)
    sample_file = models.FileField(upload_to=mapping_sample_upload_to, max_length=300, blank=True)
    sample_name = models.CharField(max_length=255, blank=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Import mapping of {self.organization}"


class ImportSource(models.TextChoices):
    PORTAL = "portal", "Portal upload"
    DROPFOLDER = "dropfolder", "Drop folder"
    COMMAND = "command", "Command line"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Importing"
    DONE = "done", "Done"
    REFUSED = "refused", "Refused (not a readable table)"
    FAILED = "failed", "Failed (internal error; the file is kept)"


IMPORT_FINISHED_STATUSES = (ImportStatus.DONE, ImportStatus.REFUSED, ImportStatus.FAILED)


class ImportJob(models.Model):
    """One imported file: the stored file and its SHA-256, progress counters and the outcome.
    Row errors are ImportRowError rows (a file may have many)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="import_jobs")
    source = models.CharField(max_length=20, choices=ImportSource.choices)
    file = models.FileField(upload_to=import_upload_to, max_length=500)
    original_name = models.CharField(max_length=255)
    sha256 = models.CharField(max_length=64)
    size = models.BigIntegerField(default=0)
    duplicate_of = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        help_text="An earlier import of the very same file (same SHA-256).",
    )
    status = models.CharField(max_length=20, choices=ImportStatus.choices, default=ImportStatus.QUEUED)
    message = models.TextField(blank=True, help_text="Why the file was refused or failed.")
    warnings = models.JSONField(default=list, blank=True, help_text="e.g. columns that map to no field.")
    columns = models.JSONField(default=list, blank=True, help_text="[header, field] pairs the import used.")
    total_rows = models.PositiveIntegerField(default=0)
    done_rows = models.PositiveIntegerField(default=0)
    failed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="import_job_org_created_idx"),
            models.Index(fields=["organization", "sha256"], name="import_job_org_sha256_idx"),
        ]

    def __str__(self) -> str:
        return f"Import #{self.pk} {self.original_name} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in IMPORT_FINISHED_STATUSES

    @property
    def percent(self) -> int:
        if self.is_finished:
            return 100
        return int(100 * self.done_rows / self.total_rows) if self.total_rows else 0


class ImportRowError(models.Model):
    """Why one row (or, with row 0, the whole file) was not imported. ``column`` is the file's
    own header of the offending column (or the IRIS field name when the file has no such column)."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="row_errors")
    row = models.PositiveIntegerField(help_text="Row number as a spreadsheet shows it (header = 1); 0 = the file.")
    column = models.CharField(max_length=255, blank=True)
    message = models.TextField()

    class Meta:
        ordering = ["row", "id"]
        indexes = [models.Index(fields=["job", "row"], name="import_row_error_job_row_idx")]

    def __str__(self) -> str:
        return f"row {self.row} {self.column}: {self.message}"
