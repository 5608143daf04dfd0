"""Gradings, care plans and grading claims (SPEC section 5)."""
from django.conf import settings
from django.db import models
from django.db.models import Q

from orders.models import InboundMessage, Order
from orders.reference import EVALUATION_TYPE_CHOICES, ResultCode
from organizations.models import Organization, Site


class CareLevel(models.TextChoices):
    """Care levels of Careplans.md, most serious first (``rank``: higher is more serious)."""

    EMERGENT = "emergent", "Emergent"
    URGENT = "urgent", "Urgent"
    REFERABLE = "referable", "Referable"
    NOT_REFERABLE = "not_referable", "Not referable"

    @property
    def rank(self) -> int:
        return {"emergent": 3, "urgent": 2, "referable": 1, "not_referable": 0}[self.value]


class Severity(models.TextChoices):
    """The SEVERITY summary of DiscreteResults.md; blank when no eye was gradable (omitted)."""

    CRITICAL = "CRITICAL", "Critical"
    ABNORMAL = "ABNORMAL", "Abnormal"
    NORMAL = "NORMAL", "Normal"


def _scope_constraints(prefix: str, fields: list[str]) -> list[models.UniqueConstraint]:
    """Unique ``fields`` once at each inheritance level: default, organization, site."""
    return [
        models.UniqueConstraint(fields=fields, condition=Q(organization__isnull=True, site__isnull=True),
                                name=f"{prefix}_default_unique"),
        models.UniqueConstraint(fields=["organization", *fields], condition=Q(site__isnull=True),
                                name=f"{prefix}_organization_unique"),
        models.UniqueConstraint(fields=["site", *fields], condition=Q(site__isnull=False),
                                name=f"{prefix}_site_unique"),
    ]


class CarePlan(models.Model):
    """A care plan of one evaluation type, identified by ``key``. A plan of an organization or
    of a site with the same key overrides the inherited one (default -> organization -> site)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="care_plans", help_text="Empty: the host default.")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="care_plans")
    evaluation_type = models.CharField(max_length=20, choices=EVALUATION_TYPE_CHOICES)
    key = models.SlugField(max_length=50)
    title = models.CharField(max_length=200)
    instructions = models.TextField()
    priority = models.PositiveIntegerField(help_text="Higher wins among plans of the same care level.")
    level = models.CharField(max_length=20, choices=CareLevel.choices)

    class Meta:
        ordering = ["evaluation_type", "-priority"]
        constraints = [
            *_scope_constraints("care_plan", ["evaluation_type", "key"]),
            models.CheckConstraint(condition=Q(site__isnull=True) | Q(organization__isnull=False),
                                   name="care_plan_site_needs_organization"),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_type}: {self.title}"


class CarePlanRule(models.Model):
    """Maps a finding (and result; blank = any result) of an evaluation type to a care plan key.
    Inherits like CarePlan: a site rule beats an organization rule beats the default."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, null=True, blank=True,
                                     related_name="care_plan_rules")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, null=True, blank=True, related_name="care_plan_rules")
    evaluation_type = models.CharField(max_length=20, choices=EVALUATION_TYPE_CHOICES)
    finding = models.CharField(max_length=100)
    result = models.CharField(max_length=100, blank=True)
    plan_key = models.SlugField(max_length=50)

    class Meta:
        ordering = ["evaluation_type", "finding", "result"]
        constraints = [
            *_scope_constraints("care_plan_rule", ["evaluation_type", "finding", "result"]),
            models.CheckConstraint(condition=Q(site__isnull=True) | Q(organization__isnull=False),
                                   name="care_plan_rule_site_needs_organization"),
        ]

    def __str__(self) -> str:
        return f"{self.evaluation_type}: {self.finding} {self.result} -> {self.plan_key}".replace("  ", " ")


class GradingSource(models.TextChoices):
    PORTAL = "portal", "Grader workspace"
    SUBMISSION = "submission", "GradingSubmission message"


class Grading(models.Model):
    """One grading of an order. A correction adds a new version and marks the previous one
    superseded; at most one current (not superseded) grading per order."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="gradings")
    version = models.PositiveIntegerField(default=1)
    superseded = models.BooleanField(default=False)
    superseded_at = models.DateTimeField(null=True, blank=True)
    grader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="gradings")
    source = models.CharField(max_length=20, choices=GradingSource.choices)
    inbound_message = models.ForeignKey(InboundMessage, on_delete=models.SET_NULL, null=True, blank=True,
                                        related_name="gradings")
    graded_at = models.DateTimeField(db_index=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="When the order became ready for grading.")
    notes = models.TextField(blank=True)
    care_plan = models.ForeignKey(CarePlan, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    # Care plans are derived at grading time and later edits do not apply retroactively: keep a copy.
    care_plan_title = models.CharField(max_length=200, blank=True)
    care_plan_instructions = models.TextField(blank=True)
    care_plan_level = models.CharField(max_length=20, choices=CareLevel.choices, blank=True)
    icd10_codes = models.JSONField(default=list, blank=True)
    pathology = models.BooleanField(default=False)
    urgent = models.BooleanField(default=False)
    emergent = models.BooleanField(default=False)
    severity = models.CharField(max_length=10, choices=Severity.choices, blank=True)
    emergency_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["order", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["order", "version"], name="grading_order_version_unique"),
            models.UniqueConstraint(fields=["order"], condition=Q(superseded=False), name="one_current_grading_per_order"),
        ]
        indexes = [models.Index(fields=["emergent", "-graded_at"], name="grading_emergent_idx")]

    def __str__(self) -> str:
        return f"Grading v{self.version} of order {self.order_id}"

    @property
    def result_code(self) -> str:
        """F for the first grading, C (correction) for a regrading."""
        return ResultCode.FINAL if self.version == 1 else ResultCode.CORRECTION

    def eye(self, laterality: str) -> "EyeGrading | None":
        return next((eye for eye in self.eyes.all() if eye.laterality == laterality), None)


class EyeGrading(models.Model):
    """The grading of one eye: gradable with findings, ungradable with one reason, or missing."""

    grading = models.ForeignKey(Grading, on_delete=models.CASCADE, related_name="eyes")
    laterality = models.CharField(max_length=2, choices=[("OD", "Right eye"), ("OS", "Left eye")])
    gradable = models.BooleanField(null=True, help_text="Empty when the eye is missing from the study.")
    ungradable_reason = models.CharField(max_length=200, blank=True)
    missing_eye_reason = models.CharField(max_length=200, blank=True)
    findings = models.JSONField(default=list, blank=True,
                                help_text='Diagnosed and suspected findings: [{"Finding": ..., "Result": ...}].')
    other_text = models.CharField("Other (free text)", max_length=500, blank=True)
    other_subset = models.CharField(max_length=20, blank=True)

    class Meta:
        ordering = ["grading", "laterality"]
        constraints = [
            models.UniqueConstraint(fields=["grading", "laterality"], name="eye_grading_unique"),
            models.CheckConstraint(
                condition=Q(gradable=True) | (Q(findings=[]) & Q(other_text="")),
                name="eye_grading_findings_only_when_gradable",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.laterality} of {self.grading}"

    @property
    def findings_map(self) -> dict[str, str]:
        return {item["Finding"]: item.get("Result") or "" for item in self.findings}


class OrderClaim(models.Model):
    """A grader's claim on an order (one per order, enforced by the database); it expires so an
    abandoned order returns to the queue."""

    order = models.OneToOneField(Order, on_delete=models.CASCADE, related_name="claim")
    grader = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="order_claims")
    claimed_at = models.DateTimeField()
    expires_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.order_id} claimed by {self.grader_id} until {self.expires_at:%H:%M}"
