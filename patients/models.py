"""Patients. Identity is the MRN (``local_id``) within a site (R3), or within the organization
when the organization lets patients float between sites (R4). Both are database constraints."""
from django.db import models
from django.db.models import Q

from iris_portal.fast_models import FastLoadModel
from orders.reference import Gender, MaritalStatus
from organizations.models import Organization, Site
from organizations.us_states import STATE_CHOICES

DEFAULT_DX_CODE = "E11"


class Patient(FastLoadModel):
    # No single-column indexes (db_index=False): the composite indexes and unique constraints
    # below lead with organization and with site; every bulk-imported row spared two entries.
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="patients", db_index=False)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="patients", db_index=False)
    # Copied from the organization's patient_scope when the patient is created: the partial
    # unique constraint below needs it on this row (a constraint cannot look at another table).
    floating = models.BooleanField(default=False, editable=False)
    local_id = models.CharField("MRN", max_length=64)
    first_name = models.CharField(max_length=100)
    last_name = models.CharField(max_length=100)
    dob = models.DateField("date of birth")
    birth_gender = models.CharField(max_length=2, choices=Gender.choices, blank=True)
    identity_gender = models.CharField(max_length=2, choices=Gender.choices, blank=True)
    race = models.CharField(max_length=20, blank=True)
    ethnicity = models.CharField(max_length=20, blank=True)
    language = models.CharField(max_length=20, blank=True)
    marital_status = models.CharField(max_length=1, choices=MaritalStatus.choices, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    email = models.CharField(max_length=254, blank=True)
    street1 = models.CharField(max_length=200, blank=True)
    street2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, choices=STATE_CHOICES, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    dx_code = models.CharField(
        "starting ICD-10 diagnosis", max_length=10, default=DEFAULT_DX_CODE,
        help_text="Sets the ICD-10 category of result codes (E08, E09, E10, E11, E13).",
    )
    additional_info = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["last_name", "first_name"]
        constraints = [
            # R3: always unique within the site.
            models.UniqueConstraint(fields=["site", "local_id"], name="patient_local_id_unique_in_site"),
            # R4: floating patients are unique across the organization.
            models.UniqueConstraint(
                fields=["organization", "local_id"], condition=Q(floating=True),
                name="patient_local_id_unique_in_organization",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "last_name", "first_name"], name="patient_org_name_idx"),
            # Equality lookups (the order service) and, on PostgreSQL, the patient search's
            # ``LIKE 'x%'`` (varchar_pattern_ops serves both; one index entry per patient).
            models.Index(fields=["organization", "local_id"], name="patient_org_local_id_idx",
                         opclasses=["", "varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return f"{self.last_name}, {self.first_name} ({self.local_id})"

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    @property
    def gender(self) -> str:
        return self.identity_gender or self.birth_gender or Gender.U
