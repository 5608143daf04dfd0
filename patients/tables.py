import django_tables2 as tables

from iris_portal.tables import DateColumn, DateTimeColumn, PortalTable

from .models import Patient


class PatientTable(PortalTable):
    local_id = tables.Column("MRN", linkify=("patients:detail", {"pk": tables.A("pk")}))
    name = tables.Column("Name", accessor="last_name", order_by=("last_name", "first_name"),
                         linkify=("patients:detail", {"pk": tables.A("pk")}))
    dob = DateColumn(verbose_name="Date of birth", format="Y-m-d")
    site = tables.Column("Site", accessor="site__name", order_by=("site__name",))
    phone = tables.Column()
    email = tables.Column()
    city = tables.Column()
    dx_code = tables.Column("Dx")
    created_at = DateTimeColumn(verbose_name="Registered", format="Y-m-d")

    fetch_only_shown = True
    column_reads = {"name": ("last_name", "first_name")}
    default_columns = ("local_id", "name", "dob", "site", "phone", "created_at")
    required_columns = ("local_id",)

    class Meta(PortalTable.Meta):
        model = Patient
        fields = ()
        sequence = ("local_id", "name", "dob", "site", "phone", "email", "city", "dx_code", "created_at")
        order_by = ("name",)
        empty_text = "No patients match."

    def render_name(self, record):
        return f"{record.last_name}, {record.first_name}"
