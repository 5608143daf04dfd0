"""Tables of the organization admin pages."""
import django_tables2 as tables
from django.utils.html import format_html

from iris_portal.models import AuditEvent
from iris_portal.tables import DateTimeColumn, PortalTable

from .models import Department, Device, HL7Interface, Site, User


class SiteTable(PortalTable):
    local_id = tables.Column("Site id", linkify=("organizations:site-detail", {"pk": tables.A("pk")}))
    name = tables.Column(linkify=("organizations:site-detail", {"pk": tables.A("pk")}))
    city = tables.Column()
    state = tables.Column()
    postal_code = tables.Column("Postal code")
    phone = tables.Column()
    department_count = tables.Column("Departments")
    device_count = tables.Column("Cameras")
    is_active = tables.BooleanColumn(verbose_name="Active")

    default_columns = ("local_id", "name", "city", "state", "department_count", "device_count", "is_active")
    required_columns = ("local_id",)

    class Meta(PortalTable.Meta):
        model = Site
        fields = ()
        sequence = ("local_id", "name", "city", "state", "postal_code", "phone", "department_count", "device_count",
                    "is_active")
        order_by = ("name",)
        empty_text = "No sites yet."


class DepartmentTable(PortalTable):
    local_id = tables.Column("Id", linkify=("organizations:department-edit", {"pk": tables.A("pk")}))
    name = tables.Column()
    site = tables.Column("Site", accessor="site__name")

    default_columns = ("local_id", "name", "site")
    required_columns = ("local_id",)

    class Meta(PortalTable.Meta):
        model = Department
        fields = ()
        sequence = ("local_id", "name", "site")
        empty_text = "No departments yet."


class DeviceTable(PortalTable):
    local_id = tables.Column("Id", linkify=("organizations:device-edit", {"pk": tables.A("pk")}))
    site = tables.Column("Site", accessor="site__name")
    manufacturer = tables.Column()
    model = tables.Column()
    serial_number = tables.Column("Serial number")
    software_version = tables.Column("Software")
    location = tables.Column()

    default_columns = ("local_id", "site", "manufacturer", "model", "serial_number")
    required_columns = ("local_id",)

    class Meta(PortalTable.Meta):
        model = Device
        fields = ()
        sequence = ("local_id", "site", "manufacturer", "model", "serial_number", "software_version", "location")
        empty_text = "No cameras yet."


class UserTable(PortalTable):
    username = tables.Column(linkify=("organizations:user-detail", {"pk": tables.A("pk")}))
    name = tables.Column("Name", accessor="last_name", order_by=("last_name", "first_name"))
    email = tables.Column()
    roles = tables.Column("Roles", accessor="pk", orderable=False)
    sites = tables.Column("Sites", accessor="pk", orderable=False)
    last_login = DateTimeColumn(verbose_name="Last sign-in", format="Y-m-d H:i")
    is_active = tables.BooleanColumn(verbose_name="Active")

    default_columns = ("username", "name", "email", "roles", "sites", "last_login", "is_active")
    required_columns = ("username",)

    class Meta(PortalTable.Meta):
        model = User
        fields = ()
        sequence = ("username", "name", "email", "roles", "sites", "last_login", "is_active")
        empty_text = "No users."

    def render_name(self, record):
        return record.get_full_name() or "—"

    def render_roles(self, record):
        labels = dict(ROLE_LABELS)
        return ", ".join(labels[role] for role in record.roles if role in labels) or "—"

    def render_sites(self, record):
        return ", ".join(site.local_id for site in record.sites.all()) or "All"


ROLE_LABELS = [("clinic_staff", "Clinic staff"), ("org_admin", "Admin"), ("integration_admin", "Integration"),
               ("pcp", "PCP"), ("grader", "Grader"), ("ai_service", "AI service")]


class AuditEventTable(PortalTable):
    at = DateTimeColumn(verbose_name="When", format="Y-m-d H:i:s")
    user = tables.Column("User", accessor="user__username")
    action = tables.Column()
    object_type = tables.Column("Object")
    object_id = tables.Column("Id")
    path = tables.Column("Page")
    ip_address = tables.Column("Address")
    user_agent = tables.Column("Browser", attrs={"td": {"class": "wrap small"}})

    default_columns = ("at", "user", "action", "object_type", "object_id", "ip_address")
    required_columns = ("at",)

    class Meta(PortalTable.Meta):
        model = AuditEvent
        fields = ()
        sequence = ("at", "user", "action", "object_type", "object_id", "path", "ip_address", "user_agent")
        order_by = ("-at",)
        empty_text = "Nothing recorded yet."

    def render_action(self, record):
        return format_html('<span class="badge text-bg-light border">{}</span>', record.get_action_display())


class HL7InterfaceTable(PortalTable):
    name = tables.Column(linkify=("organizations:hl7-interface-detail", {"pk": tables.A("pk")}))
    sending_applications = tables.Column("MSH-3", orderable=False)
    sending_facilities = tables.Column("MSH-4", orderable=False)
    mrn_source = tables.Column("MRN from")
    site_source = tables.Column("Site from")
    mapping_count = tables.Column("Site mappings")
    ordering_provider_id_type = tables.Column("Provider id type")
    is_active = tables.BooleanColumn(verbose_name="Active")

    default_columns = ("name", "sending_applications", "sending_facilities", "mrn_source", "site_source",
                       "mapping_count", "is_active")
    required_columns = ("name",)

    class Meta(PortalTable.Meta):
        model = HL7Interface
        fields = ()
        sequence = ("name", "sending_applications", "sending_facilities", "mrn_source", "site_source",
                    "mapping_count", "ordering_provider_id_type", "is_active")
        order_by = ("name",)
        empty_text = "No HL7 interfaces yet."

    def render_sending_applications(self, value):
        return ", ".join(value) or "any"

    def render_sending_facilities(self, value):
        return ", ".join(value) or "—"
