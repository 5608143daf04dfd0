"""HL7 interface settings pages (SPEC 4.3): list, detail, add/edit (with the code -> site
mappings on the same form) and delete. Organization admins and integration administrators of
the organization only; another organization's interface is a 404 (R1); every page is audited."""
from django.contrib import messages

from iris_portal.views.generic import ObjectDeleteView, ObjectDetailView, ObjectEditView, ObjectListView

from .forms_hl7 import HL7InterfaceForm
from .selectors_hl7 import can_configure_integrations, hl7_interfaces_administered
from .services_hl7 import hl7_interface_save
from .tables import HL7InterfaceTable


class HL7ViewMixin:
    allowed = staticmethod(can_configure_integrations)
    selector = hl7_interfaces_administered
    audit_type = "hl7_interface"


class HL7InterfaceListView(HL7ViewMixin, ObjectListView):
    table = HL7InterfaceTable
    title = "HL7 interfaces"
    add_url_name = "organizations:hl7-interface-add"


class HL7InterfaceDetailView(HL7ViewMixin, ObjectDetailView):
    template_name = "organizations/hl7_interface_detail.html"

    def get_extra_context(self, interface) -> dict:
        return {"mappings": list(interface.site_mappings.select_related("site").order_by("code"))}


class HL7InterfaceEditView(HL7ViewMixin, ObjectEditView):
    form_class = HL7InterfaceForm
    template_name = "organizations/hl7_interface_edit.html"
    noun = "HL7 interface"
    success_url_name = "organizations:hl7-interface-detail"
    cancel_url_name = "organizations:hl7-interface-list"
    delete_url_name = "organizations:hl7-interface-delete"

    def get_title(self) -> str:
        return f"Edit HL7 interface {self.object.name}" if self.object else "Add an HL7 interface"

    def save_form(self, form):
        try:
            return hl7_interface_save(interface=form.instance, organization=self.request.user.organization,
                                      mappings=form.mappings.mappings())
        except ValueError as exc:
            form.add_error(None, str(exc))
            return None


class HL7InterfaceDeleteView(HL7ViewMixin, ObjectDeleteView):
    success_url_name = "organizations:hl7-interface-list"

    def post(self, request, *args, **kwargs):
        messages.info(request, "Messages from this sender are now rejected (AR) and kept.")
        return super().post(request, *args, **kwargs)
