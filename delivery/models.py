"""Result delivery (SPEC sections 6 and 7).

This module has two sections: "Results" (issue 7: report templates and settings, stored result
sets and their documents) and, below it, the delivery records (endpoints, deliveries, attempts)
that come with the delivery issue."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from orders.models import Order
from orders.reference import EVALUATION_TYPE_CHOICES, ResultCode
from organizations.models import Organization, Site

# =============================================================================================
# Results (issue 7): report templates and settings, stored result sets and their documents.
# The logic lives in delivery/results/; these are only the records.


class PaperSize(models.TextChoices):
    LETTER = "letter", "US Letter (8.5 × 11 in)"
    A4 = "a4", "A4 (210 × 297 mm)"


def _level_constraints(prefix: str, fields: list[str], *, default_level: bool) -> list[models.UniqueConstraint]:
    """Unique ``fields`` once per inheritance level: (default,) organization, site."""
    constraints = [
        models.UniqueConstraint(fields=["organization", *fields], condition=Q(site__isnull=True),
                                name=f"{prefix}_organization_unique"),
        models.UniqueConstraint(fields=["site", *fields], condition=Q(site__isnull=False),
                                name=f"{prefix}_site_unique"),
    ]
    if default_level:
        constraints.append(models.UniqueConstraint(
            fields=fields, condition=Q(organization__isnull=True, site__isnull=True), name=f"{prefix}_default_unique"))
    return constraints


def report_logo_upload_to(instance: "ReportSettings", filename: str) -> str:
    return f"report-logos/{instance.organization_id}/{instance.site_id or 'org'}/{filename}"


class ReportSettings(models.Model):
    """Report settings of an organization or of one of its sites. Blank fields inherit
    (site -> organization -> built-in default)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="report_settings")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="report_settings")
    paper_size = models.CharField(max_length=10, choices=PaperSize.choices, blank=True)
    disclaimer = models.TextField(blank=True, help_text="The [[DISCLAIMER]] line; blank inherits.")
    logo = models.FileField(upload_to=report_logo_upload_to, max_length=300, blank=True,
                            help_text="PNG or JPEG shown at the top of the report; blank inherits.")
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "report settings"
        constraints = _level_constraints("report_settings", [], default_level=False)

    def __str__(self) -> str:
        return f"Report settings of {self.site or self.organization}"


class ReportTemplate(models.Model):
    """An HTML report template with [[TOKEN]] placeholders for one evaluation type. Lookup goes
    site -> organization -> host default row -> the built-in template shipped with the code."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="report_templates", help_text="Empty: the host default.")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="report_templates")
    evaluation_type = models.CharField(max_length=20, choices=EVALUATION_TYPE_CHOICES)
    html = models.TextField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["evaluation_type"]
        constraints = [
            *_level_constraints("report_template", ["evaluation_type"], default_level=True),
            models.CheckConstraint(condition=Q(site__isnull=True) | Q(organization__isnull=False),
                                   name="report_template_site_needs_organization"),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_type} report template of {self.site or self.organization or 'the host'}"


class ResultSet(models.Model):
    """The results of one grading, generated once (immutable): ResultCode F for a first grading,
    C for a correction, R for each resend. Its documents are the stored artifacts."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="result_sets")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="result_sets")
    grading = models.ForeignKey("grading.Grading", on_delete=models.CASCADE, related_name="result_sets")
    grading_version = models.PositiveIntegerField()
    result_code = models.CharField(max_length=1, choices=ResultCode.choices)
    transaction_id = models.UUIDField(unique=True)
    timestamp = models.DateTimeField()
    order_result = models.JSONField(help_text="The OrderResult (without ResultsDocument) every document renders from.")
    template_source = models.CharField(max_length=60, blank=True, help_text="Which report template was used.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["grading", "result_code"], condition=Q(result_code__in=["F", "C"]),
                                    name="result_set_once_per_grading"),
        ]
        indexes = [models.Index(fields=["order", "-created_at"], name="result_set_order_created_idx")]

    def __str__(self) -> str:
        return f"Results {self.result_code} of order {self.order_id} (grading v{self.grading_version})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("Result sets are immutable; generate a new one (correction or resend).")
        super().save(*args, **kwargs)

    def document(self, kind: str) -> "ResultDocument | None":
        return next((doc for doc in self.documents.all() if doc.kind == kind), None)


def result_document_upload_to(instance: "ResultDocument", filename: str) -> str:
    result_set = instance.result_set
    folder = f"results/{result_set.organization_id}/{result_set.order_id}/{result_set.pk}-{result_set.result_code}"
    return f"{folder}/{filename}"


class ResultDocument(models.Model):
    """One stored artifact of a result set (pdf, html, json, csv, cda, and the HL7 kinds)."""

    result_set = models.ForeignKey(ResultSet, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=20)
    file = models.FileField(upload_to=result_document_upload_to, max_length=300)
    media_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["result_set", "kind"]
        constraints = [models.UniqueConstraint(fields=["result_set", "kind"], name="result_document_kind_unique")]

    def __str__(self) -> str:
        return f"{self.kind} of {self.result_set}"


# =============================================================================================
# Delivery (the delivery issue): endpoints, deliveries and attempts go below this line.


class DeliveryState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENDING = "sending", "Sending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed, will retry"
    GIVEN_UP = "given_up", "Given up"


class PayloadKind(models.TextChoices):
    """The document an endpoint receives (delivery.transports.DocumentKind values)."""

    PDF = "pdf", "PDF report"
    HTML = "html", "HTML report"
    JSON = "json", "OrderResult JSON"
    ORU = "oru", "HL7 ORU^R01"
    MDM = "mdm", "HL7 MDM^T02"
    DFT = "dft", "HL7 DFT^P03 (charges)"
    CDA = "cda", "CDA document (Direct)"


def _transport_kind_choices() -> list[tuple[str, str]]:
    from delivery.transports import TRANSPORTS

    return [(kind, kind) for kind in TRANSPORTS]


class Endpoint(models.Model):
    """Where an organization's results go. A site's enabled endpoint of a kind replaces the
    organization's endpoints of that kind for that site's orders. ``config`` is the transport's
    configuration, cleaned by its ``validate_config`` (delivery.services.endpoint_save)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="delivery_endpoints")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="delivery_endpoints",
                             help_text="Empty: every site of the organization.")
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=20, choices=_transport_kind_choices)
    payload_kind = models.CharField(max_length=10, choices=PayloadKind.choices, default=PayloadKind.PDF)
    config = models.JSONField(default=dict, blank=True)
    enabled = models.BooleanField(default=True)
    failure_contact = models.EmailField(blank=True, help_text="Told by email when a delivery is given up.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "site", "name"]
        indexes = [models.Index(fields=["organization", "enabled"], name="endpoint_org_enabled_idx")]

    def __str__(self) -> str:
        return self.name


class Delivery(models.Model):
    """One result set sent to one endpoint (R12): survives broker and worker restarts; claimed
    atomically (state -> sending with ``claimed_until``) so it is never sent twice at once.
    A portal pickup waits as pending with no ``next_attempt_at`` until someone downloads it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="deliveries")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="deliveries")
    result_set = models.ForeignKey(ResultSet, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(Endpoint, on_delete=models.PROTECT, related_name="deliveries")
    document_kind = models.CharField(max_length=10, choices=PayloadKind.choices)
    state = models.CharField(max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    remote_id = models.CharField(max_length=255, blank=True)
    receipt_endpoint = models.TextField(blank=True, help_text="Where it went (may name a file with PHI: never log).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [models.UniqueConstraint(fields=["result_set", "endpoint"], name="delivery_once_per_endpoint")]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due_idx"),
            models.Index(fields=["organization", "state"], name="delivery_org_state_idx"),
            models.Index(fields=["order", "-created_at"], name="delivery_order_idx"),
        ]

    def __str__(self) -> str:
        return f"Delivery {self.pk} ({self.state})"

    @property
    def awaiting_pickup(self) -> bool:
        return self.state == DeliveryState.PENDING and self.next_attempt_at is None and self.attempts > 0

    @property
    def status_words(self) -> str:
        """The status in plain words for clinic staff."""
        if self.awaiting_pickup:
            return "Waiting for download in the portal"
        return {"pending": "Waiting to be sent", "sending": "Being sent", "delivered": "Delivered",
                "failed": "Failed, will retry automatically",
                "given_up": "Failed, no more retries"}.get(self.state, self.state)


class AttemptOutcome(models.TextChoices):
    SUCCESS = "success", "Success"
    TRANSIENT = "transient", "Failed (temporary)"
    PERMANENT = "permanent", "Failed (permanent)"


class DeliveryAttempt(models.Model):
    """One try of a delivery: when, how long, what happened (plain words, no PHI)."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_log")
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    outcome = models.CharField(max_length=10, choices=AttemptOutcome.choices)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["delivery", "started_at", "id"]

    def __str__(self) -> str:
        return f"Attempt of delivery {self.delivery_id}: {self.outcome}"
