"""Tenants and their structure: organizations, sites, departments, cameras, users, providers."""
import uuid

from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from iris_portal.fast_models import FastLoadModel
from orders.reference import ALL_EVALUATION_TYPE_CODES

from .us_states import STATE_CHOICES

npi_validator = RegexValidator(r"^\d{10}$", "An NPI has exactly 10 digits.")


class PatientScope(models.TextChoices):
    SITE = "site", "Unique per site"
    ORGANIZATION = "organization", "Unique across the organization (patients float between sites)"


def default_evaluation_types() -> list[str]:
    return ["DR"]


class Organization(models.Model):
    client_guid = models.UUIDField("ClientGuid", unique=True, default=uuid.uuid4)
    name = models.CharField(max_length=200)
    is_host = models.BooleanField(
        default=False, help_text="The reading center: its graders read for every organization."
    )
    patient_scope = models.CharField(
        max_length=20, choices=PatientScope.choices, default=PatientScope.SITE
    )
    allow_site_autocreate = models.BooleanField(default=False)
    allow_camera_autocreate = models.BooleanField(default=False)
    evaluation_types = models.JSONField(
        default=default_evaluation_types,
        help_text="Evaluation type codes this organization subscribes to.",
    )
    emergency_contacts = models.TextField(
        blank=True, help_text="Email addresses (one per line) told at once about emergent results."
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_host"], condition=Q(is_host=True), name="one_host_organization"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self):
        unknown = [code for code in self.evaluation_types or [] if code not in ALL_EVALUATION_TYPE_CODES]
        if unknown:
            raise ValidationError({"evaluation_types": f"Unknown evaluation types: {', '.join(unknown)}"})

    @property
    def patients_float(self) -> bool:
        return self.patient_scope == PatientScope.ORGANIZATION


class Site(FastLoadModel):
    """A location of an organization (IRIS calls it *Client*). One address; its state is the
    default exam state of its orders (R2)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sites")
    local_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    street1 = models.CharField(max_length=200, blank=True)
    street2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100, blank=True)
    state = models.CharField(max_length=2, choices=STATE_CHOICES, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    phone = models.CharField(max_length=40, blank=True)
    direct_address = models.CharField(max_length=254, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "local_id"], name="site_local_id_unique")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.local_id})"


class Department(FastLoadModel):
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="departments")
    local_id = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["local_id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "local_id"], name="department_local_id_unique")
        ]

    def __str__(self) -> str:
        return self.name or self.local_id


class Device(models.Model):
    """A retinal camera."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="devices")
    local_id = models.CharField(max_length=64)
    serial_number = models.CharField(max_length=100, blank=True)
    manufacturer = models.CharField(max_length=100, blank=True)
    model = models.CharField(max_length=100, blank=True)
    software_version = models.CharField(max_length=100, blank=True)
    location = models.CharField(max_length=200, blank=True)
    ip_address = models.CharField(max_length=64, blank=True)
    mac_address = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["local_id"]
        constraints = [
            models.UniqueConstraint(fields=["site", "local_id"], name="device_local_id_unique")
        ]

    def __str__(self) -> str:
        return f"{self.manufacturer} {self.model} {self.local_id}".strip()


class Provider(FastLoadModel):
    """A clinician known by NPI (national, so shared by every organization)."""

    npi = models.CharField("NPI", max_length=10, unique=True, validators=[npi_validator])
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    degrees = models.CharField(max_length=100, blank=True)
    taxonomy = models.CharField(max_length=50, blank=True)
    associations = models.CharField(max_length=200, blank=True)
    email = models.CharField(max_length=254, blank=True)
    direct_address = models.CharField(max_length=254, blank=True)
    fax = models.CharField(max_length=40, blank=True)
    signature = models.TextField(blank=True, help_text="Signature line printed on reports.")

    class Meta:
        ordering = ["last_name", "first_name"]

    def __str__(self) -> str:
        name = " ".join(part for part in [self.first_name, self.last_name] if part)
        return f"{name} (NPI {self.npi})" if name else f"NPI {self.npi}"

    @property
    def display_name(self) -> str:
        name = " ".join(part for part in [self.first_name, self.last_name] if part)
        return f"{name}, {self.degrees}" if name and self.degrees else name


class ProviderLicense(models.Model):
    provider = models.ForeignKey(Provider, on_delete=models.CASCADE, related_name="licenses")
    state = models.CharField(max_length=2, choices=STATE_CHOICES)
    license_number = models.CharField(max_length=50, blank=True)
    expires_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["state"]
        constraints = [
            models.UniqueConstraint(fields=["provider", "state"], name="provider_license_state_unique")
        ]

    def __str__(self) -> str:
        return f"{self.provider} — {self.state}"


class Role(models.TextChoices):
    CLINIC_STAFF = "clinic_staff", "Clinic staff"
    ORG_ADMIN = "org_admin", "Organization admin"
    INTEGRATION_ADMIN = "integration_admin", "Integration administrator"
    GRADER = "grader", "Grader"
    PCP = "pcp", "PCP"
    AI_SERVICE = "ai_service", "AI grading service"


class User(AbstractUser):
    """Every user belongs to exactly one organization (R1); roles are flags on the user.

    Platform staff are ``is_staff`` users of the host organization (Django admin)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, related_name="users", null=True, blank=True,
        help_text="Required for everyone except a bootstrap superuser.",
    )
    is_clinic_staff = models.BooleanField(default=False)
    is_org_admin = models.BooleanField(default=False)
    is_integration_admin = models.BooleanField(default=False)
    is_grader = models.BooleanField(default=False)
    is_pcp = models.BooleanField(default=False)
    is_ai_service = models.BooleanField("is AI grading service", default=False)
    sites = models.ManyToManyField(
        Site, blank=True, related_name="users",
        help_text="Limit clinic staff to these sites; empty means every site of the organization.",
    )
    provider = models.ForeignKey(
        Provider, on_delete=models.SET_NULL, null=True, blank=True, related_name="users",
        help_text="Graders: their licenses. PCPs: the NPI whose reports they read.",
    )

    class Meta:
        ordering = ["username"]

    def clean(self):
        super().clean()
        if self.organization_id is None and not self.is_superuser:
            raise ValidationError({"organization": "Every user belongs to one organization."})
        if (self.is_grader or self.is_pcp) and self.provider_id is None:
            raise ValidationError({"provider": "Graders and PCPs need a provider (NPI)."})

    @property
    def roles(self) -> list[str]:
        flags = {
            Role.CLINIC_STAFF: self.is_clinic_staff, Role.ORG_ADMIN: self.is_org_admin,
            Role.INTEGRATION_ADMIN: self.is_integration_admin, Role.GRADER: self.is_grader,
            Role.PCP: self.is_pcp, Role.AI_SERVICE: self.is_ai_service,
        }
        return [role.value for role, on in flags.items() if on]

    def has_role(self, role: str) -> bool:
        return role in self.roles


class HL7Interface(models.Model):
    """How an organization's HL7 v2 ORM feed is recognised and mapped (SPEC 4.3)."""

    class MrnSource(models.TextChoices):
        PID_2 = "pid2", "PID-2.1"
        PID_3 = "pid3", "PID-3 (repetition chosen by identifier type)"

    class SiteSource(models.TextChoices):
        PV1_3 = "pv1_3", "PV1-3.1"
        ORC_13 = "orc_13", "ORC-13.1"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="hl7_interfaces")
    name = models.CharField(max_length=100, default="ORM feed")
    sending_applications = models.JSONField(
        default=list, blank=True, help_text="Accepted MSH-3 values; empty accepts any."
    )
    sending_facilities = models.JSONField(default=list, help_text="Accepted MSH-4 values.")
    mrn_source = models.CharField(max_length=10, choices=MrnSource.choices, default=MrnSource.PID_2)
    mrn_identifier_type = models.CharField(
        max_length=20, blank=True, default="MR", help_text="PID-3.5 type code when MRN is in PID-3."
    )
    site_source = models.CharField(max_length=10, choices=SiteSource.choices, default=SiteSource.PV1_3)
    ordering_provider_id_type = models.CharField(max_length=20, default="NPI")
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["organization__name", "name"]

    def __str__(self) -> str:
        return f"{self.organization}: {self.name}"


class HL7SiteMapping(models.Model):
    interface = models.ForeignKey(HL7Interface, on_delete=models.CASCADE, related_name="site_mappings")
    code = models.CharField(max_length=64, help_text="Value found in PV1-3.1 / ORC-13.1.")
    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="hl7_mappings")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["interface", "code"], name="hl7_site_mapping_code_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code} → {self.site.local_id}"

    def clean(self):
        try:
            interface, site = self.interface, self.site  # the interface may be unsaved (admin add page)
        except (HL7Interface.DoesNotExist, Site.DoesNotExist):
            return
        if site.organization_id != interface.organization_id:
            raise ValidationError({"site": "Choose a site of the interface's organization."})


class CloudDirectCredential(models.Model):
    """A per-organization Redis ACL user for Cloud Direct (SPEC 4.4): the write-only one may
    only XADD to the orders stream, the read-only one only read the events and results streams.

    The password is kept twice: as SHA-256 (what Redis itself stores, ``ACL SETUSER ... #hash``),
    so the portal can re-create the user after a Redis restart without needing any key; and
    Fernet-encrypted with a key derived from SECRET_KEY, so an integration administrator can see
    the connection URL again (like the connection strings of IRIS's own portal). Created and
    rotated only through orders.intake.clouddirect.credentials."""

    class Kind(models.TextChoices):
        WRITER = "writer", "Write-only (orders stream)"
        READER = "reader", "Read-only (events and results streams)"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="clouddirect_credentials")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    username = models.CharField(max_length=150, unique=True)
    password_sha256 = models.CharField(max_length=64)
    password_encrypted = models.TextField()
    rotated_at = models.DateTimeField()
    rotated_by = models.ForeignKey("User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization__name", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind"], name="clouddirect_credential_kind_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.organization}: {self.username}"
