"""Organization admin forms: sites, departments, cameras, users."""
from crispy_forms.layout import Column, Fieldset, Layout, Row
from django import forms
from django.contrib.auth.validators import UnicodeUsernameValidator

from iris_portal.forms import PortalFormMixin

from .models import Department, Device, Site, User
from .npi import npi_format_ok
from .selectors_admin import sites_administered

ROLE_FIELDS = ["is_clinic_staff", "is_org_admin", "is_integration_admin", "is_pcp"]


class SiteForm(PortalFormMixin, forms.ModelForm):
    """A site and its one address; its state is the default exam state of its orders (R2)."""

    layout = Layout(
        Row(Column("local_id", css_class="col-md-4"), Column("name", css_class="col-md-8")),
        Row(Column("street1", css_class="col-md-6"), Column("street2", css_class="col-md-6")),
        Row(Column("city", css_class="col-md-5"), Column("state", css_class="col-md-4"),
            Column("postal_code", css_class="col-md-3")),
        Row(Column("phone", css_class="col-md-4"), Column("direct_address", css_class="col-md-8")),
        "is_active",
    )

    class Meta:
        model = Site
        fields = ["local_id", "name", "street1", "street2", "city", "state", "postal_code", "phone",
                  "direct_address", "is_active"]
        labels = {"local_id": "Site id", "street1": "Street", "street2": "Street (line 2)",
                  "direct_address": "Direct address"}
        help_texts = {"local_id": "The id your systems use for this site (IRIS: Client LocalId).",
                      "state": "The default exam state of the site's orders."}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.organization = user.organization
        self.fields["state"].required = True

    def clean_local_id(self):
        local_id = self.cleaned_data["local_id"].strip()
        taken = Site.objects.filter(organization=self.organization, local_id=local_id).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError("Another site of your organization has this id.")
        return local_id

    def save(self, commit=True):
        self.instance.organization = self.organization
        return super().save(commit)


class _SiteChildForm(PortalFormMixin, forms.ModelForm):
    """Departments and cameras belong to one of the organization's sites."""

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["site"].queryset = sites_administered(user=user).order_by("name")
        self.fields["local_id"].label = "Id"


class DepartmentForm(_SiteChildForm):
    class Meta:
        model = Department
        fields = ["site", "local_id", "name"]


class DeviceForm(_SiteChildForm):
    layout = Layout(
        Row(Column("site", css_class="col-md-6"), Column("local_id", css_class="col-md-6")),
        Row(Column("manufacturer", css_class="col-md-4"), Column("model", css_class="col-md-4"),
            Column("serial_number", css_class="col-md-4")),
        Row(Column("software_version", css_class="col-md-4"), Column("location", css_class="col-md-8")),
        Row(Column("ip_address", css_class="col-md-6"), Column("mac_address", css_class="col-md-6")),
    )

    class Meta:
        model = Device
        fields = ["site", "local_id", "manufacturer", "model", "serial_number", "software_version", "location",
                  "ip_address", "mac_address"]


class UserForm(PortalFormMixin, forms.Form):
    """Invite (with username) or edit a user of the admin's organization: roles and site limits.
    A plain form: the user-admin services build and validate the user (User.clean needs the
    organization and, for a PCP, the provider, which only the service sets).
    Graders and AI service accounts belong to the reading center and are managed by platform staff."""

    username = forms.CharField(max_length=150, validators=[UnicodeUsernameValidator()],
                               help_text="Letters, digits and @/./+/-/_ only.")
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.EmailField()
    is_clinic_staff = forms.BooleanField(required=False, label="Clinic staff")
    is_org_admin = forms.BooleanField(required=False, label="Organization admin")
    is_integration_admin = forms.BooleanField(required=False, label="Integration administrator")
    is_pcp = forms.BooleanField(required=False, label="PCP")
    pcp_npi = forms.CharField(label="PCP NPI", required=False, max_length=10,
                              help_text="PCPs read the reports of orders that name this NPI.")
    sites = forms.ModelMultipleChoiceField(queryset=None, required=False, widget=forms.CheckboxSelectMultiple,
                                           help_text="Clinic staff see only these sites; none means every site.")

    def __init__(self, *args, user, instance: User | None = None, **kwargs):
        self.admin, self.instance = user, instance
        if instance is not None:
            kwargs.setdefault("initial", {
                "first_name": instance.first_name, "last_name": instance.last_name, "email": instance.email,
                **{name: getattr(instance, name) for name in ROLE_FIELDS},
                "pcp_npi": instance.provider.npi if instance.provider_id else "",
                "sites": list(instance.sites.all()),
            })
        super().__init__(*args, **kwargs)
        self.fields["sites"].queryset = sites_administered(user=user).order_by("name")
        if instance is not None:
            del self.fields["username"]
        identity = [] if instance is not None else [Row(Column("username", css_class="col-md-6"))]
        self.helper.layout = Layout(
            Fieldset("Person", *identity, Row(Column("first_name", css_class="col-md-4"),
                                             Column("last_name", css_class="col-md-4"), Column("email", css_class="col-md-4"))),
            Fieldset("Roles", Row(*[Column(name, css_class="col-sm-6 col-lg-3") for name in ROLE_FIELDS]), "pcp_npi"),
            Fieldset("Site limits", "sites"),
        )

    def clean_username(self):
        username = self.cleaned_data["username"]
        if User.objects.filter(username__iexact=username).exists():
            raise forms.ValidationError("This username is taken.")
        return username

    def clean(self):
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in ROLE_FIELDS):
            raise forms.ValidationError("Give the user at least one role.")
        npi = (cleaned.get("pcp_npi") or "").strip()
        if cleaned.get("is_pcp") and not npi:
            self.add_error("pcp_npi", "A PCP needs their NPI.")
        elif npi and not npi_format_ok(npi):
            self.add_error("pcp_npi", "An NPI has exactly 10 digits.")
        if self.instance is not None and self.instance.pk == self.admin.pk and not cleaned.get("is_org_admin"):
            self.add_error("is_org_admin", "You cannot remove your own organization admin role.")
        return cleaned

    def changes(self) -> dict:
        """Roles, names, email and site limits as the user-admin services take them."""
        data = self.cleaned_data
        return {
            "email": data["email"], "first_name": data["first_name"], "last_name": data["last_name"],
            "roles": {name: bool(data.get(name)) for name in ROLE_FIELDS},
            "sites": list(data["sites"]), "pcp_npi": (data.get("pcp_npi") or "").strip(),
        }
