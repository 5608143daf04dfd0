"""The Order Manager table."""
import django_tables2 as tables
from django.utils.safestring import mark_safe

from iris_portal.escaping import html_text
from iris_portal.tables import DateColumn, DateTimeColumn, PortalTable

from .models import Order, OrderStatus

# get_status_display() builds the field's choices dict again on every call (a tenth of the
# Order Manager's cells under load): the labels, once.
STATUS_LABELS = dict(OrderStatus.choices)


class OrderTable(PortalTable):
    local_id = tables.Column("Order", linkify=("orders:detail", {"pk": tables.A("pk")}), attrs={"td": {"class": "fw-semibold"}})
    patient = tables.Column("Patient", accessor="patient__last_name", order_by=("patient__last_name", "patient__first_name"),
                            linkify=("patients:detail", {"pk": tables.A("patient_id")}))
    mrn = tables.Column("MRN", accessor="patient__local_id")
    dob = DateColumn(verbose_name="DOB", accessor="patient__dob", format="Y-m-d", orderable=False)
    site = tables.Column("Site", accessor="site__local_id")
    evaluation_types = tables.Column("Exam", orderable=False)
    state = tables.Column("State")
    status = tables.Column("Status")
    urgent = tables.BooleanColumn(verbose_name="Urgent", yesno="Urgent,")
    source = tables.Column("Source")
    scheduled_time = DateTimeColumn(verbose_name="Scheduled", format="Y-m-d H:i")
    created_at = DateTimeColumn(verbose_name="Created", format="Y-m-d H:i")
    graded_at = DateTimeColumn(verbose_name="Graded", format="Y-m-d H:i")
    encounter_number = tables.Column("Encounter")
    cpt_code = tables.Column("CPT")
    department = tables.Column("Department", accessor="department__local_id")
    ordering_provider = tables.Column("Ordering provider", accessor="ordering_provider__last_name", orderable=False)

    fetch_only_shown = True
    column_reads = {"patient": ("patient__last_name", "patient__first_name"),
                    "ordering_provider": ("ordering_provider__first_name", "ordering_provider__last_name",
                                          "ordering_provider__degrees", "ordering_provider__npi")}
    default_columns = ("local_id", "patient", "mrn", "site", "evaluation_types", "status", "source", "created_at")
    required_columns = ("local_id",)

    class Meta(PortalTable.Meta):
        model = Order
        fields = ()
        sequence = ("local_id", "patient", "mrn", "dob", "site", "evaluation_types", "state", "status", "urgent",
                    "source", "scheduled_time", "created_at", "graded_at", "encounter_number", "cpt_code",
                    "department", "ordering_provider")
        order_by = ("-created_at",)
        empty_text = "No orders match."

    def render_patient(self, record):
        return f"{record.patient.last_name}, {record.patient.first_name}"

    def render_evaluation_types(self, value):
        return ", ".join(value)

    def render_status(self, record):
        status = record.status
        return mark_safe(f'<span class="badge status-{html_text(status)}">{html_text(STATUS_LABELS.get(status, status))}</span>')

    def render_urgent(self, value):
        return mark_safe('<span class="badge text-bg-danger">Urgent</span>') if value else ""

    def render_ordering_provider(self, record):
        return record.ordering_provider.display_name or record.ordering_provider.npi
