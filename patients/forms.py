"""The patient form (create and edit) for the portal."""
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms

from iris_portal.forms import PortalFormMixin
from orders.reference import Gender
from organizations.selectors_admin import sites_visible

from .models import Patient
from .services import patient_find

RACE_CHOICES = [("", "—"), ("1002-5", "American Indian or Alaska Native"), ("2028-9", "Asian"),
                ("2054-5", "Black or African American"), ("2076-8", "Native Hawaiian or Other Pacific Islander"),
                ("2106-3", "White"), ("2131-1", "Other Race")]
ETHNICITY_CHOICES = [("", "—"), ("2135-2", "Hispanic or Latino"), ("2186-5", "Not Hispanic or Latino"),
                     ("2148-5", "Mexican"), ("2149-3", "Mexican American"), ("2155-0", "Central American"),
                     ("2180-8", "Puerto Rican"), ("2182-4", "Cuban"), ("2137-8", "Spaniard")]
DEMOGRAPHIC_FORM_FIELDS = [
    "first_name", "last_name", "dob", "birth_gender", "identity_gender", "race", "ethnicity", "language",
    "marital_status", "phone", "email", "street1", "street2", "city", "state", "postal_code", "dx_code",
    "additional_info",
]


def demographics_layout(prefix: str = "") -> list:
    """The demographic fields in rows; shared by the patient form and the order form."""
    def row(*names, sizes=None):
        return Row(*[Column(prefix + name, css_class=f"col-md-{size}") for name, size in zip(names, sizes)])

    return [
        row("first_name", "last_name", "dob", sizes=(4, 4, 4)),
        row("birth_gender", "identity_gender", "marital_status", sizes=(4, 4, 4)),
        row("race", "ethnicity", "language", sizes=(5, 4, 3)),
        row("phone", "email", "dx_code", sizes=(4, 5, 3)),
        row("street1", "street2", sizes=(6, 6)),
        row("city", "state", "postal_code", sizes=(5, 4, 3)),
    ]


class DemographicsFieldsMixin:
    """Widgets and choices of the demographic fields."""

    def setup_demographics(self, prefix: str = ""):
        fields = self.fields
        fields[prefix + "dob"].widget = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
        fields[prefix + "race"] = forms.ChoiceField(choices=RACE_CHOICES, required=False, label="Race")
        fields[prefix + "ethnicity"] = forms.ChoiceField(choices=ETHNICITY_CHOICES, required=False, label="Ethnicity")
        fields[prefix + "language"].help_text = "Language code, e.g. en, es"
        fields[prefix + "dx_code"].help_text = "Starting ICD-10, e.g. E11"
        fields[prefix + "additional_info"].widget = forms.Textarea(attrs={"rows": 2})
        for name in ("birth_gender", "identity_gender"):
            fields[prefix + name].choices = [("", "—"), *Gender.choices]
        for name in ("marital_status", "state"):
            fields[prefix + name].choices = [("", "—"), *fields[prefix + name].choices[1:]]
        fields[prefix + "street1"].label = "Street"
        fields[prefix + "street2"].label = "Street (line 2)"


class PatientForm(DemographicsFieldsMixin, PortalFormMixin, forms.ModelForm):
    """Site and MRN are chosen when the patient is registered and fixed afterwards (R3/R4: they
    are the patient's identity for every channel)."""

    class Meta:
        model = Patient
        fields = ["site", "local_id", *DEMOGRAPHIC_FORM_FIELDS]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        self.setup_demographics()
        self.fields["site"].queryset = sites_visible(user=user).filter(is_active=True)
        self.fields["site"].empty_label = None
        editing = self.instance.pk is not None
        if editing:
            del self.fields["site"]
            del self.fields["local_id"]
        identity = [] if editing else [Row(Column("site", css_class="col-md-6"), Column("local_id", css_class="col-md-6"))]
        self.helper.layout = Layout(
            Fieldset("Patient", *identity, *demographics_layout()),
            "additional_info",
        )

    def validate_unique(self):
        """Identity is checked in clean() with the R3/R4 rule (patient_find); the database
        constraints settle races."""

    def clean(self):
        cleaned = super().clean()
        site, local_id = cleaned.get("site"), cleaned.get("local_id")
        if self.instance.pk is None and site is not None and local_id:
            organization = self.user.organization
            if patient_find(organization=organization, site=site, local_id=local_id) is not None:
                where = "in this organization" if organization.patients_float else "at this site"
                self.add_error("local_id", f"A patient with MRN {local_id} is already registered {where}; "
                                           "open that patient to order for them.")
        return cleaned

    def demographics(self) -> dict:
        return {name: self.cleaned_data[name] for name in DEMOGRAPHIC_FORM_FIELDS}
