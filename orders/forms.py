"""Web order forms. They only build an OrderRequest body (the web channel's message); the order
service (``order_request_process``) applies it like any other channel and keeps the raw request."""
import datetime as dt
import secrets

from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.utils import timezone

from iris_portal.forms import PortalFormMixin
from organizations.selectors_admin import sites_visible
from organizations.us_states import STATE_CHOICES
from patients.models import Patient

from .reference import EVALUATION_TYPES, OrderControlCode

VERSION = "2.3.1"

# OrderRequest field (as a rejection names it) -> (form, field): "order" is the order form,
# "patient" the patient form of a one-form patient + order. Anything else is a form-wide error.
REQUEST_FIELD_TO_FORM = {
    "Order.LocalId": ("order", "local_id"), "Order.EvaluationTypes": ("order", "evaluation_types"),
    "Order.State": ("order", "state"), "Order.ScheduledTime": ("order", "scheduled_time"),
    "Order.CPTCode": ("order", "cpt_code"), "Order.DepartmentId": ("order", "department_id"),
    "Order.MissingEyeReason": ("order", "missing_eye_reason"),
    "OrderingProvider.NPI": ("order", "ordering_npi"), "HealthPlan.PrimaryCareProvider.NPI": ("order", "pcp_npi"),
    "Site.LocalId": ("patient", "site"), "Site": ("patient", "site"),
    "Patient.LocalId": ("patient", "local_id"), "Patient.Name.First": ("patient", "first_name"),
    "Patient.Name.Last": ("patient", "last_name"), "Patient.Dob": ("patient", "dob"),
    "Patient.Email": ("patient", "email"), "Patient.DxCode": ("patient", "dx_code"),
}


def new_order_local_id(now: dt.datetime | None = None) -> str:
    """An order id for web orders whose clinic has none of its own: W-<date>-<random>."""
    now = now or timezone.now()
    return f"W-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"


def _blank_to_none(value):
    return None if value in ("", None) else value


class OrderFieldsForm(PortalFormMixin, forms.Form):
    """Order fields shared by new orders (NW) and changes (XO)."""

    scheduled_time = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    department_id = forms.CharField(required=False, max_length=64, label="Department")
    encounter_number = forms.CharField(required=False, max_length=64)
    cpt_code = forms.CharField(required=False, max_length=20, label="CPT code")
    single_eye_only = forms.BooleanField(required=False, label="Single eye only")
    missing_eye_reason = forms.CharField(required=False, max_length=200)
    urgent = forms.BooleanField(required=False)
    additional_info = forms.CharField(required=False, label="Notes", widget=forms.Textarea(attrs={"rows": 2}))
    ordering_npi = forms.CharField(required=False, max_length=10, label="Ordering provider NPI")
    ordering_first_name = forms.CharField(required=False, max_length=100, label="First name")
    ordering_last_name = forms.CharField(required=False, max_length=100, label="Last name")
    health_plan_name = forms.CharField(required=False, max_length=200, label="Health plan")
    health_plan_member_id = forms.CharField(required=False, max_length=64, label="Member id")
    pcp_npi = forms.CharField(required=False, max_length=10, label="PCP NPI")
    pcp_name = forms.CharField(required=False, max_length=200, label="PCP name")
    pcp_email = forms.CharField(required=False, max_length=254, label="PCP email / Direct address")
    pcp_fax = forms.CharField(required=False, max_length=40, label="PCP fax")

    def order_details_layout(self) -> list:
        return [
            Fieldset("Details",
                     Row(Column("scheduled_time", css_class="col-md-4"), Column("department_id", css_class="col-md-4"),
                         Column("encounter_number", css_class="col-md-4")),
                     Row(Column("cpt_code", css_class="col-md-3"), Column("missing_eye_reason", css_class="col-md-5"),
                         Column("single_eye_only", css_class="col-md-2 pt-md-4"), Column("urgent", css_class="col-md-2 pt-md-4")),
                     "additional_info"),
            Fieldset("Providers and health plan",
                     Row(Column("ordering_npi", css_class="col-md-4"), Column("ordering_first_name", css_class="col-md-4"),
                         Column("ordering_last_name", css_class="col-md-4")),
                     Row(Column("health_plan_name", css_class="col-md-6"), Column("health_plan_member_id", css_class="col-md-6")),
                     Row(Column("pcp_npi", css_class="col-md-3"), Column("pcp_name", css_class="col-md-3"),
                         Column("pcp_email", css_class="col-md-3"), Column("pcp_fax", css_class="col-md-3"))),
        ]

    def order_part(self) -> dict:
        data = self.cleaned_data
        scheduled = data.get("scheduled_time")
        part = {
            "ScheduledTime": scheduled.isoformat() if scheduled else None,
            "DepartmentId": data.get("department_id"), "EncounterNumber": data.get("encounter_number"),
            "CPTCode": data.get("cpt_code"), "MissingEyeReason": data.get("missing_eye_reason"),
            "AdditionalInfo": data.get("additional_info"),
            "SingleEyeOnly": bool(data.get("single_eye_only")), "Urgent": bool(data.get("urgent")),
        }
        return {key: value for key, value in part.items() if _blank_to_none(value) is not None}

    def provider_parts(self) -> dict:
        data = self.cleaned_data
        parts = {}
        if data.get("ordering_npi"):
            parts["OrderingProvider"] = {"NPI": data["ordering_npi"], "Name": {
                "First": data.get("ordering_first_name") or None, "Last": data.get("ordering_last_name") or None}}
        plan = {"Name": data.get("health_plan_name") or None, "MemberId": data.get("health_plan_member_id") or None}
        pcp = {"NPI": data.get("pcp_npi") or None, "Name": data.get("pcp_name") or None,
               "EmailAddress": data.get("pcp_email") or None, "FaxNumber": data.get("pcp_fax") or None}
        if any(pcp.values()):
            plan["PrimaryCareProvider"] = pcp
        if any(plan.values()):
            parts["HealthPlan"] = plan
        return parts


class OrderCreateForm(OrderFieldsForm):
    """A new order (NW). With ``patient`` it is for that patient; without, the page also shows
    the patient form and both become one request."""

    local_id = forms.CharField(required=False, max_length=64, label="Order id",
                               help_text="Your order number; leave empty to have one assigned.")
    evaluation_types = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, label="Evaluation types")
    site = forms.ModelChoiceField(queryset=None, required=False, empty_label=None,
                                  help_text="Where the exam takes place.")
    state = forms.ChoiceField(required=False, choices=[("", "The site's state"), *STATE_CHOICES], label="Exam state")

    def __init__(self, *args, user, patient: Patient | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.patient = user, patient
        subscribed = set(user.organization.evaluation_types or [])
        self.fields["evaluation_types"].choices = [
            (info.code, f"{info.code} — {info.description}") for info in EVALUATION_TYPES if info.code in subscribed]
        if "DR" in subscribed and not self.is_bound:
            self.initial.setdefault("evaluation_types", ["DR"])
        # The site comes from the patient form for a new patient, and is the patient's own for a
        # site-scoped patient (R3); only a floating patient (R4) can be ordered at another site.
        choose_site = patient is not None and patient.organization.patients_float
        if choose_site:
            self.fields["site"].queryset = sites_visible(user=user).filter(is_active=True)
            self.initial.setdefault("site", patient.site_id)
        else:
            del self.fields["site"]
        site_row = [Column("site", css_class="col-md-5")] if choose_site else []
        site_row.append(Column("state", css_class="col-md-3"))
        self.helper.layout = Layout(
            Fieldset("Order", Row(Column("local_id", css_class="col-md-4"), *site_row), "evaluation_types"),
            *self.order_details_layout(),
        )

    def request_body(self, *, organization, patient: Patient | None = None, patient_form=None,
                     user_name: str) -> dict:
        """The OrderRequest (NW) for this form and the patient (existing, or the patient form)."""
        data = self.cleaned_data
        if patient is not None:
            site = data.get("site") or patient.site
            patient_part = {"LocalId": patient.local_id, "Name": {"First": patient.first_name, "Last": patient.last_name},
                            "Dob": patient.dob.isoformat()}
        else:
            site = patient_form.cleaned_data["site"]
            patient_part = patient_request_part(patient_form.cleaned_data)
        order = {"LocalId": data.get("local_id") or new_order_local_id(), "EvaluationTypes": data["evaluation_types"],
                 "State": data.get("state") or None, **self.order_part()}
        return {"Version": VERSION, "OrderControlCode": OrderControlCode.NEW.value,
                "ClientGuid": str(organization.client_guid), "UserNameSubmitting": user_name,
                "Site": {"LocalId": site.local_id}, "Order": order, "Patient": patient_part,
                **self.provider_parts()}


def patient_request_part(values: dict) -> dict:
    """OrderRequest.Patient from the patient form's cleaned data."""
    genders = [{"Context": context, "Gender": values[name]}
               for context, name in (("BirthGender", "birth_gender"), ("IdentityGender", "identity_gender"))
               if values.get(name)]
    address = {"Street1": values.get("street1"), "Street2": values.get("street2"), "City": values.get("city"),
               "State": values.get("state"), "PostalCode": values.get("postal_code")}
    part = {
        "LocalId": values["local_id"], "Name": {"First": values["first_name"], "Last": values["last_name"]},
        "Dob": values["dob"].isoformat(), "Genders": genders, "Race": values.get("race"),
        "Ethnicity": values.get("ethnicity"), "PrimaryLanguage": values.get("language"),
        "MaritalStatus": values.get("marital_status"), "Email": values.get("email"), "Phone": values.get("phone"),
        "DxCode": values.get("dx_code"), "AdditionalInfo": values.get("additional_info"),
        "Address": {k: v for k, v in address.items() if v} or None,
    }
    return {key: value for key, value in part.items() if value not in ("", None, [])}


class OrderChangeForm(OrderFieldsForm):
    """A change (XO) of an open order. Order id, evaluation types and patient are fixed (R8);
    an emptied field keeps its value (a change message only carries what changes)."""

    state = forms.ChoiceField(required=False, choices=[("", "Unchanged"), *STATE_CHOICES], label="Exam state")

    def __init__(self, *args, order, **kwargs):
        super().__init__(*args, initial=self.initial_for(order), **kwargs)
        self.order = order
        self.helper.layout = Layout(Fieldset("Exam", Row(Column("state", css_class="col-md-4"))),
                                    *self.order_details_layout())

    @staticmethod
    def initial_for(order) -> dict:
        ordering = order.ordering_provider
        pcp = order.primary_care_provider
        return {
            "state": order.state, "scheduled_time": timezone.localtime(order.scheduled_time) if order.scheduled_time else None,
            "department_id": order.department.local_id if order.department else "",
            "encounter_number": order.encounter_number, "cpt_code": order.cpt_code,
            "single_eye_only": bool(order.single_eye_only), "missing_eye_reason": order.missing_eye_reason,
            "urgent": order.urgent, "additional_info": order.additional_info,
            "ordering_npi": ordering.npi if ordering else "", "ordering_first_name": ordering.first_name if ordering else "",
            "ordering_last_name": ordering.last_name if ordering else "",
            "health_plan_name": order.health_plan_name, "health_plan_member_id": order.health_plan_member_id,
            "pcp_npi": pcp.npi if pcp else "", "pcp_name": pcp.display_name if pcp else "",
            "pcp_email": order.pcp_email, "pcp_fax": order.pcp_fax,
        }

    def request_body(self, *, user_name: str) -> dict:
        order = self.order
        part = {"LocalId": order.local_id, "State": self.cleaned_data.get("state") or None, **self.order_part()}
        return {"Version": VERSION, "OrderControlCode": OrderControlCode.CHANGE.value,
                "ClientGuid": str(order.organization.client_guid), "UserNameSubmitting": user_name,
                "Site": {"LocalId": order.site.local_id}, "Order": part,
                "Patient": {"LocalId": order.patient.local_id}, **self.provider_parts()}


def cancel_request_body(order, *, user_name: str) -> dict:
    return {"Version": VERSION, "OrderControlCode": OrderControlCode.CANCEL.value,
            "ClientGuid": str(order.organization.client_guid), "UserNameSubmitting": user_name,
            "Site": {"LocalId": order.site.local_id}, "Order": {"LocalId": order.local_id}}
