import django_filters

from iris_portal.filters import PortalFilterSet
from iris_portal.site_switcher import visible_sites
from organizations.models import Site

from .models import Patient


class PatientFilterSet(PortalFilterSet):
    choice_objects = {"site": visible_sites}
    search_fields = ("local_id__istartswith", "last_name__istartswith", "first_name__istartswith")
    site = django_filters.ModelChoiceFilter(queryset=Site.objects.none(), label="Site")
    dob = django_filters.DateFilter(label="Date of birth", widget=django_filters.widgets.forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = Patient
        fields = ["q", "site", "dob"]
