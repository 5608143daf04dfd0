"""HL7 interface settings form (SPEC 4.3): the interface's fields plus a formset of its
code -> site mappings, validated together (``is_valid``) and saved by services_hl7."""
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms

from iris_portal.forms import PortalFormMixin

from .models import HL7Interface
from .selectors_hl7 import hl7_mapping_sites, hl7_sender_conflicts
from .services_hl7 import SiteMappingData


def _lines(text: str) -> list[str]:
    """One value per line; blank lines and repeats dropped (values may contain commas and ^)."""
    values = []
    for line in (text or "").splitlines():
        value = line.strip()
        if value and value.lower() not in {v.lower() for v in values}:
            values.append(value)
    return values


class SiteMappingForm(PortalFormMixin, forms.Form):
    code = forms.CharField(max_length=64, label="Code", help_text="As sent in PV1-3.1 / ORC-13.1.")
    site = forms.ModelChoiceField(queryset=None, label="Site")

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = hl7_mapping_sites(user=user)
        self.fields["code"].widget.attrs.update({"class": "form-control form-control-sm", "aria-label": "Code"})
        self.fields["site"].widget.attrs.update({"class": "form-select form-select-sm", "aria-label": "Site"})


class BaseSiteMappingFormSet(forms.BaseFormSet):
    def clean(self):
        super().clean()
        seen = set()
        for form in self.forms:
            if not form.has_changed() or self._should_delete_form(form) or not form.is_valid():
                continue
            code = form.cleaned_data["code"].strip().lower()
            if code in seen:
                form.add_error("code", "This code is mapped twice.")
            seen.add(code)

    def mappings(self) -> list[SiteMappingData]:
        return [SiteMappingData(code=form.cleaned_data["code"].strip(), site=form.cleaned_data["site"])
                for form in self.forms
                if form.has_changed() and not self._should_delete_form(form) and form.cleaned_data]


SiteMappingFormSet = forms.formset_factory(SiteMappingForm, formset=BaseSiteMappingFormSet, extra=3,
                                           can_delete=True, max_num=500, validate_max=True)


class HL7InterfaceForm(PortalFormMixin, forms.ModelForm):
    """Which MSH-3/MSH-4 the feed comes from and how its fields map (docs/integrations/hl7.md)."""

    applications_text = forms.CharField(
        label="Accepted sending applications (MSH-3)", required=False, widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line. Empty accepts any MSH-3.")
    facilities_text = forms.CharField(
        label="Accepted sending facilities (MSH-4)", widget=forms.Textarea(attrs={"rows": 2}),
        help_text="One per line; at least one.")

    layout = Layout(
        Row(Column("name", css_class="col-md-8"), Column("is_active", css_class="col-md-4 pt-md-4")),
        Fieldset("Sender", Row(Column("applications_text", css_class="col-md-6"),
                               Column("facilities_text", css_class="col-md-6"))),
        Fieldset("Mapping", Row(Column("mrn_source", css_class="col-md-6"),
                                Column("mrn_identifier_type", css_class="col-md-6")),
                 Row(Column("site_source", css_class="col-md-6"),
                     Column("ordering_provider_id_type", css_class="col-md-6"))),
    )

    class Meta:
        model = HL7Interface
        fields = ["name", "is_active", "mrn_source", "mrn_identifier_type", "site_source",
                  "ordering_provider_id_type"]
        labels = {"mrn_source": "MRN from", "mrn_identifier_type": "MRN identifier type (PID-3.5)",
                  "site_source": "Site from", "ordering_provider_id_type": "Ordering provider id type",
                  "is_active": "Active"}
        help_texts = {
            "mrn_identifier_type": "With PID-3: the identifier type code of the MRN repetition (e.g. MR).",
            "ordering_provider_id_type": "ORC-12.13 (or .9) of the id to use; NPI links the order to the "
                                         "provider. Another type keeps the provider's name and id on the order.",
        }

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = user.organization
        if self.instance.pk:
            self.initial.setdefault("applications_text", "\n".join(self.instance.sending_applications or []))
            self.initial.setdefault("facilities_text", "\n".join(self.instance.sending_facilities or []))
            initial = [{"code": m.code, "site": m.site_id} for m in self.instance.site_mappings.order_by("code")]
        else:
            initial = []
        self.mappings = SiteMappingFormSet(self.data if self.is_bound else None, initial=initial, prefix="map",
                                           form_kwargs={"user": user})

    def clean_mrn_identifier_type(self):
        return self.cleaned_data["mrn_identifier_type"].strip().upper()

    def clean_ordering_provider_id_type(self):
        return self.cleaned_data["ordering_provider_id_type"].strip().upper()

    def clean(self):
        cleaned = super().clean()
        applications, facilities = _lines(cleaned.get("applications_text")), _lines(cleaned.get("facilities_text"))
        if "facilities_text" in cleaned and not facilities:
            self.add_error("facilities_text", "Name at least one sending facility.")
        if cleaned.get("mrn_source") == HL7Interface.MrnSource.PID_3 and not cleaned.get("mrn_identifier_type"):
            self.add_error("mrn_identifier_type", "PID-3 needs the identifier type of the MRN.")
        if cleaned.get("is_active") and facilities:
            conflicts = hl7_sender_conflicts(applications=applications, facilities=facilities,
                                             exclude_pk=self.instance.pk)
            if conflicts:
                self.add_error("facilities_text", "Another active HL7 interface already accepts this MSH-3/MSH-4"
                               + (f" ({conflicts[0].name})" if conflicts[0].organization_id == self.organization.pk
                                  else "") + "; messages must identify one organization.")
        self.instance.sending_applications, self.instance.sending_facilities = applications, facilities
        return cleaned

    def is_valid(self) -> bool:
        form_ok = super().is_valid()
        return self.mappings.is_valid() and form_ok
