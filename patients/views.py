"""Patient pages: list/search, detail with the order history, register, edit. Every view is
audited (R14); another organization's patient is a 404 (R1)."""
from django.db import IntegrityError, transaction

from iris_portal.site_switcher import current_site
from iris_portal.views.generic import ObjectDetailView, ObjectEditView, ObjectListView

from .filters import PatientFilterSet
from .forms import PatientForm
from .selectors import patient_list, patient_orders, patients_at_site
from .services import Demographics, patient_create, patient_edit
from .tables import PatientTable

DUPLICATE_MRN = "A patient with this MRN was registered a moment ago; open that patient."


class PatientListView(ObjectListView):
    selector = patient_list
    table = PatientTable
    filterset = PatientFilterSet
    title = "Patients"
    audit_type = "patient"
    add_url_name = "patients:add"

    def filter_by_current_site(self, queryset):
        site = current_site(self.request)
        return patients_at_site(queryset, site) if site else queryset


class PatientDetailView(ObjectDetailView):
    selector = patient_list
    template_name = "patients/patient_detail.html"
    audit_type = "patient"

    def get_extra_context(self, obj) -> dict:
        return {"orders": list(patient_orders(user=self.request.user, patient=obj)[:200])}


class PatientEditView(ObjectEditView):
    selector = patient_list
    form_class = PatientForm
    audit_type = noun = "patient"
    success_url_name = "patients:detail"
    cancel_url_name = "patients:list"

    def get_title(self) -> str:
        return f"Edit {self.object}" if self.object else "Register a patient"

    def save_form(self, form):
        if self.object is not None:
            patient_edit(patient=self.object, values=form.demographics())
            return self.object
        site, local_id = form.cleaned_data["site"], form.cleaned_data["local_id"]
        organization = self.request.user.organization
        values = form.demographics()
        demographics = Demographics(first_name=values.pop("first_name"), last_name=values.pop("last_name"),
                                    dob=values.pop("dob"), values=values)
        try:  # the form checked the MRN is free (R3/R4); the constraint settles a race
            with transaction.atomic():
                return patient_create(organization=organization, site=site, local_id=local_id,
                                      demographics=demographics)
        except IntegrityError:
            pass
        form.add_error("local_id", DUPLICATE_MRN)
        return None
