"""Patient identity (R3/R4) and demographics updates."""
from dataclasses import dataclass, field
import datetime as dt

from organizations.models import Organization, Site

from .models import DEFAULT_DX_CODE, Patient

DEMOGRAPHIC_FIELDS = (
    "first_name", "last_name", "dob", "birth_gender", "identity_gender", "race", "ethnicity",
    "language", "marital_status", "phone", "email", "street1", "street2", "city", "state",
    "postal_code", "dx_code", "additional_info",
)


@dataclass
class Demographics:
    """Values a message gives for a patient; None means "not sent, keep what we have"."""

    first_name: str | None = None
    last_name: str | None = None
    dob: dt.date | None = None
    values: dict = field(default_factory=dict)

    def items(self):
        base = {"first_name": self.first_name, "last_name": self.last_name, "dob": self.dob}
        base.update(self.values)
        return [(name, value) for name, value in base.items() if value is not None and value != ""]


def patient_find(*, organization: Organization, site: Site, local_id: str, for_update: bool = False) -> Patient | None:
    """The patient with this MRN: within the site (R3), or anywhere in the organization when
    patients float (R4), preferring the one at this site if a legacy duplicate exists."""
    queryset = Patient.objects.all()
    if for_update:
        queryset = queryset.select_for_update(of=("self",))
    if organization.patients_float:
        return patient_choose(list(queryset.filter(organization=organization, local_id=local_id)[:5]), site=site)
    return queryset.filter(site=site, local_id=local_id).first()


def patient_choose(candidates: list[Patient], *, site: Site) -> Patient | None:
    """R4: of the patients sharing an MRN in an organization whose patients float, the one at
    this site, else a floating one, else the first (legacy duplicates)."""
    for candidate in candidates:
        if candidate.site_id == site.pk:
            return candidate
    return next((c for c in candidates if c.floating), candidates[0] if candidates else None)


def patient_create(*, organization: Organization, site: Site, local_id: str, demographics: Demographics) -> Patient:
    patient = patient_build(organization=organization, site=site, local_id=local_id, demographics=demographics)
    patient.save(force_insert=True)
    return patient


def patient_build(*, organization: Organization, site: Site, local_id: str, demographics: Demographics,
                  new=Patient) -> Patient:
    """A new, unsaved patient (bulk intake inserts many at once; ``new``: how it builds the
    instance, e.g. without ``Model.__init__``)."""
    patient = new(organization=organization, site=site, local_id=local_id, floating=organization.patients_float)
    for name, value in demographics.items():
        setattr(patient, name, value)
    if not patient.dx_code:
        patient.dx_code = DEFAULT_DX_CODE
    return patient


def patient_update(*, patient: Patient, demographics: Demographics) -> list[str]:
    """Apply sent values; returns the changed field names (no query when nothing changed)."""
    changed = patient_apply(patient=patient, demographics=demographics)
    if changed:
        patient.save(update_fields=[*changed, "updated_at"])
    return changed


def patient_apply(*, patient: Patient, demographics: Demographics) -> list[str]:
    """Set sent values on the instance without saving; returns the changed field names."""
    changed = []
    for name, value in demographics.items():
        if getattr(patient, name) != value:
            setattr(patient, name, value)
            changed.append(name)
    return changed


def patient_edit(*, patient: Patient, values: dict) -> list[str]:
    """Apply a portal edit: unlike ``patient_update`` (messages, where a blank means "not sent"),
    a blank here clears the field. Identity (site, MRN) is not editable. Returns changed names."""
    unknown = set(values) - set(DEMOGRAPHIC_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
    values = {**values, "dx_code": values.get("dx_code", patient.dx_code) or DEFAULT_DX_CODE}
    changed = [name for name, value in values.items() if getattr(patient, name) != value]
    for name in changed:
        setattr(patient, name, values[name])
    if changed:
        patient.full_clean(exclude=["organization", "site", "local_id"], validate_unique=False)
        patient.save(update_fields=[*changed, "updated_at"])
    return changed
