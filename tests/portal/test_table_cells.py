"""The cell makers (``iris_portal.table_cells``) make exactly what django-tables2's
``BoundRow.get_cell`` makes, for every column of the portal's tables, and the filter bar's
``FastSelect`` renders what Django's ``Select`` renders."""
import datetime as dt
import re

import django_tables2 as tables
import pytest
from django import forms
from django.urls import path
from django.utils import timezone
from django.utils.safestring import mark_safe
from django_tables2.rows import BoundRow

from iris_portal.models import AuditEvent
from iris_portal.table_cells import cell_makers
from iris_portal.widgets import fast_widget
from orders.models import Order
from orders.tables import OrderTable
from organizations.models import Department, Device, Site, User
from organizations.tables import AuditEventTable, DepartmentTable, DeviceTable, SiteTable, UserTable
from patients.models import Patient
from patients.tables import PatientTable
from tests.factories import OrderFactory, PatientFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


def assert_same_cells(table_class, queryset):
    table = table_class(queryset)
    for name in table.columns.names():
        table.columns.show(name)
    makers = cell_makers(table)
    assert makers, table_class
    compared = 0
    for row in table.rows:
        for maker in makers:
            expected = BoundRow(row.record, table=table).get_cell(maker.name)
            assert maker(row.record, row) == expected, (table_class.__name__, maker.name, row.record.pk)
            compared += 1
    assert compared, f"{table_class.__name__}: no rows to compare"
    return makers


def test_order_and_patient_cells_match_django_tables2(org, north):
    provider = ProviderFactory(first_name="", last_name="Osler", degrees="MD")
    department = Department.objects.create(site=north, local_id="RET", name="Retina")
    OrderFactory(patient=PatientFactory(site=north, last_name="O'Brien <b>", first_name="Ann & Co"), urgent=True,
                 ordering_provider=provider, department=department, encounter_number="E-1", cpt_code="92229",
                 scheduled_time=timezone.now(), status="complete", graded_at=timezone.now())
    OrderFactory(patient=PatientFactory(site=north, dob=dt.date(1899, 1, 2), phone="", email=""), urgent=False,
                 ordering_provider=ProviderFactory(first_name="", last_name=""), department=None, scheduled_time=None,
                 status="cancelled")
    makers = assert_same_cells(OrderTable, Order.objects.filter(organization=org).select_related(
        "patient", "site", "department", "ordering_provider"))
    assert all(maker.fast for maker in makers), [maker.name for maker in makers if not maker.fast]
    assert_same_cells(PatientTable, Patient.objects.filter(organization=org).select_related("site"))


def test_admin_table_cells_match_django_tables2(org, north, org_admin):
    Department.objects.create(site=north, local_id="D1", name="")
    Device.objects.create(site=north, local_id="C1", manufacturer="Topcon")
    UserFactory(organization=org, email="a@example.org").sites.add(north)
    AuditEvent.objects.create(organization=org, user=org_admin, action="view", object_type="order", object_id="7")
    AuditEvent.objects.create(organization=org, user=None, action="list", object_type="patient")
    from organizations.selectors_admin import sites_administered

    assert_same_cells(SiteTable, sites_administered(user=org_admin))
    assert_same_cells(DepartmentTable, Department.objects.filter(site__organization=org).select_related("site"))
    assert_same_cells(DeviceTable, Device.objects.filter(site__organization=org).select_related("site"))
    assert_same_cells(UserTable, User.objects.filter(organization=org).prefetch_related("sites"))
    assert_same_cells(AuditEventTable, AuditEvent.objects.filter(organization=org).select_related("user"))


def test_records_that_are_not_models_and_unusual_columns_go_to_django_tables2():
    class Odd(tables.Table):
        name = tables.Column(linkify=lambda record: f"/x/{record['name']}/")
        shout = tables.Column(accessor="name__upper")

        def render_shout(self, value, bound_row):
            return f"{value}!{bound_row.get_even_odd_css_class()}"

    table = Odd([{"name": "ada"}, {"name": "<b>"}])
    makers = cell_makers(table)
    assert not any(maker.fast for maker in makers)
    for row in table.rows:
        for maker in makers:
            assert maker(row.record, row) == row.get_cell(maker.name)


def test_a_link_with_a_key_that_is_not_an_integer_is_reversed_by_django_tables2(org, north):
    site = Site.objects.filter(organization=org).first()

    class BySite(tables.Table):
        local_id = tables.Column(linkify=("organizations:site-detail", {"pk": tables.A("local_id__lower")}))

        class Meta:
            model = Site
            fields = ()

    table = BySite(Site.objects.filter(pk=site.pk))
    [maker] = cell_makers(table)
    row = next(iter(table.rows))
    with pytest.raises(Exception) as raised:  # "north" is not an int: reverse() itself refuses it
        row.get_cell("local_id")
    with pytest.raises(type(raised.value)):
        maker(row.record, row)


@pytest.mark.parametrize("value", ["a", "", None, 1, "missing", ["a", 1], 2])
def test_fast_select_renders_like_django_select(value):
    select = forms.Select(attrs={"class": "form-select"},
                          choices=[("", "Any <kind>"), ("a", "A & B"), (1, "One"), (2, "Two"), (None, "None")])
    attrs = {"id": "id_kind", "required": False, "disabled": True, "data-x": "1"}

    def tidy(html):
        return re.sub(r">\s+<", "><", html.strip())

    assert tidy(fast_widget(select).render("kind", value, attrs)) == tidy(select.render("kind", value, attrs))


@pytest.mark.parametrize("widget", [forms.TextInput(attrs={"class": "form-control", "placeholder": 'a "b"'}),
                                    forms.DateInput(attrs={"type": "date", "class": "form-control"}),
                                    forms.DateInput(format="%d/%m/%Y")])
@pytest.mark.parametrize("value", [None, "", "x<y> & \"z\"", 7, dt.date(2026, 1, 2), mark_safe("<b>")])
def test_fast_inputs_render_like_djangos(widget, value):
    attrs = {"id": "id_q", "required": False, "disabled": True, "aria-invalid": "true"}
    fast = fast_widget(widget)
    assert type(fast) is not type(widget) and isinstance(fast, type(widget))
    assert fast.render("q", value, attrs) == widget.render("q", value, attrs)


def test_widgets_without_a_fast_version_are_kept():
    for widget in (forms.CheckboxInput(), forms.SelectMultiple(), forms.Textarea(), forms.NumberInput()):
        assert fast_widget(widget) is widget


def test_fast_select_leaves_option_groups_to_django():
    select = forms.Select(choices=[("Eyes", [("od", "Right"), ("os", "Left")]), ("", "Any")])
    assert fast_widget(select).render("eye", "os") == select.render("eye", "os")


def test_header_row_matches_django_tables2s_template(rf, org, north):
    from django.template.loader import render_to_string
    from django_tables2 import RequestConfig

    OrderFactory(patient=PatientFactory(site=north))
    request = rf.get("/orders/", {"status": "open", "q": "Ann & <b>", "sort": "-created_at", "page": "1"})
    table = OrderTable(Order.objects.filter(organization=org))
    RequestConfig(request, paginate={"per_page": 25}).configure(table)

    def tidy(html):
        return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html)

    django_tables2s = render_to_string("django_tables2/bootstrap5.html", {"table": table, "request": request})
    expected = re.search(r"<thead[^>]*>(.*?)</thead>", django_tables2s, re.S).group(1)
    assert "sort=created_at" in expected and "q=Ann+%26+%3Cb%3E" in expected
    assert tidy(f"<tr>{table.header_html()}</tr>") == tidy(expected)


PAGER_TEMPLATE = """{% load django_tables2 %}{% if table.page.has_previous %}<li class="page-item"><a class="page-link" href="{% querystring_replace table.prefixed_page_field=table.page.previous_page_number %}" rel="prev">&laquo; Previous</a></li>{% endif %}
{% for p in table.page|table_page_range:table.paginator %}<li class="page-item{% if table.page.number == p %} active{% endif %}{% if p == '...' %} disabled{% endif %}"><a class="page-link" {% if p != '...' %}href="{% querystring_replace table.prefixed_page_field=p %}"{% endif %}>{{ p }}</a></li>
{% endfor %}{% if table.page.has_next %}<li class="page-item"><a class="page-link" href="{% querystring_replace table.prefixed_page_field=table.page.next_page_number %}" rel="next">Next &raquo;</a></li>{% endif %}"""


@pytest.mark.parametrize("page", ["1", "2", "7", "14"])
def test_pager_matches_the_template_it_replaced(rf, org, north, page):
    """The pager's links as django-tables2's querystring_replace and table_page_range wrote them
    (first, middle, and last of 14 pages; the query string kept, the page replaced)."""
    from django.template import Context, Template
    from django_tables2 import RequestConfig

    for _ in range(14):
        OrderFactory(patient=PatientFactory(site=north))
    request = rf.get("/orders/", {"status": "open", "q": "a&b", "page": page})
    table = OrderTable(Order.objects.filter(organization=org).order_by("pk"))
    RequestConfig(request, paginate={"per_page": 1}).configure(table)

    def tidy(html):
        return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html)

    expected = Template(PAGER_TEMPLATE).render(Context({"table": table, "request": request}))
    assert "q=a%26b" in expected
    assert tidy(table.pager_html()) == tidy(expected)


urlpatterns = [path("o/<int:a>/i/<int:b>/", lambda request, a, b: None, name="two-keys")]  # for the test below


@pytest.mark.urls(__name__)
def test_a_key_that_looks_like_the_url_stand_in_is_not_mistaken_for_it(org, north):
    from iris_portal.table_cells import _SENTINEL

    class TwoKeys(tables.Table):
        local_id = tables.Column(linkify=("two-keys", {"a": tables.A("patient_id"), "b": tables.A("pk")}))

        class Meta:
            model = Order
            fields = ()

    order = OrderFactory(patient=PatientFactory(site=north))
    order.patient_id, order.pk = _SENTINEL + 1, _SENTINEL  # each value is the other key's stand-in
    table = TwoKeys([order])
    [maker] = cell_makers(table)
    row = next(iter(table.rows))
    assert maker.fast
    assert maker(order, row) == row.get_cell("local_id") == (
        f'<a href="/o/{_SENTINEL + 1}/i/{_SENTINEL}/">{order.local_id}</a>')


FILTER_FIELDS_TEMPLATE = """{% for field in filterset.form %}
<div class="{% if field.name == 'q' %}col-12 col-md-8 col-lg-6 col-xxl-3{% else %}col-6 col-md-4 col-lg-3 col-xxl-2{% endif %}">
<div class="mb-3" id="div_{{ field.auto_id }}"><label class="form-label" for="{{ field.id_for_label }}">{{ field.label }}</label>{{ field }}{% for error in field.errors %}<div class="invalid-feedback d-block">{{ error }}</div>{% endfor %}</div>
</div>
{% endfor %}"""


@pytest.mark.parametrize("query", [{}, {"q": 'Ann & "<b>"', "status": "open", "created_from": "2026-01-02"},
                                   {"created_to": "not a date", "status": "nonsense", "site": "999999"}])
def test_filter_fields_match_the_template_loop_they_replaced(rf, org, north, query):
    """The filter bar's fields (labels, values, selected options, errors) as the list template's
    loop over the form wrote them."""
    from django.template import Context, Template

    from orders.filters import OrderFilterSet

    user = UserFactory(organization=org)
    request = rf.get("/orders/", query)
    request.user = user
    filterset = OrderFilterSet(request.GET or None, queryset=Order.objects.filter(organization=org), request=request)
    if query:
        filterset.is_valid()
    expected = Template(FILTER_FIELDS_TEMPLATE).render(Context({"filterset": filterset}))
    actual = filterset.fields_html()

    def tidy(html):
        return re.sub(r"\s*(<[^>]+>)\s*", r"\1", html)

    assert tidy(actual) == tidy(expected)
    assert actual.count('class="mb-3"') == len(filterset.form.fields) >= 7
    if "created_to" in query:
        assert actual.count("invalid-feedback") == 3  # the date, the status and the site


def test_tables_get_their_own_columns_without_deep_copies():
    """A table's column copies (``_ColumnsCopiedFlat``) keep what one table changes (shown
    columns, attrs) away from the class and from other tables, as django-tables2's deep copy
    did."""
    from orders.tables import OrderTable
    from orders.models import Order

    first, second = OrderTable(Order.objects.none()), OrderTable(Order.objects.none())
    name = next(name for name in first.columns.names() if name not in OrderTable.required_columns)
    first.columns.hide(name)
    first.columns[name].column.attrs.setdefault("td", {})["class"] = "changed"
    assert not first.columns[name].visible and second.columns[name].visible
    assert OrderTable.base_columns[name].visible
    assert second.columns[name].column.attrs.get("td", {}).get("class") != "changed"
    assert OrderTable.base_columns[name].attrs.get("td", {}).get("class") != "changed"
    assert [column.name for column in first.columns.iterall()] == list(OrderTable.base_columns)
    assert all(column.column is not OrderTable.base_columns[column.name] for column in first.columns.iterall())


def test_filter_bars_are_kept_per_values_choices_and_class(rf, org, north, south, other_org):
    """The kept markup is reused only for the same filterset, values and offered sites; a
    filterset whose choices come from a query (the audit log's users) is never kept."""
    from iris_portal import filters as portal_filters
    from orders.filters import OrderFilterSet
    from organizations.filters import AuditEventFilterSet

    def bar(user, query, filterset_class=OrderFilterSet):
        request = rf.get("/orders/", query)
        request.user = user
        data = filterset_class.data_from(request.GET)
        return filterset_class(data, queryset=Order.objects.none(), request=request).fields_html()

    portal_filters._FIELDS_HTML.clear()
    everywhere, limited, elsewhere = (UserFactory(organization=org), UserFactory(organization=org),
                                      UserFactory(organization=other_org))
    limited.sites.add(north)
    first = bar(everywhere, {"status": "open"})
    assert len(portal_filters._FIELDS_HTML) == 1 and bar(everywhere, {"status": "open"}) == first
    assert bar(everywhere, {"status": "open", "page": "3"}) == first and len(portal_filters._FIELDS_HTML) == 1
    assert "South Clinic" in first and "South Clinic" not in bar(limited, {"status": "open"})
    assert "Away Clinic" in bar(elsewhere, {"status": "open"}) and "North Clinic" not in bar(elsewhere, {"status": "open"})
    assert 'value="complete" selected' in bar(everywhere, {"status": "complete"})
    assert "invalid-feedback" in bar(everywhere, {"status": "nonsense"})
    assert bar(everywhere, {"page": "2"}) == bar(everywhere, {}) and OrderFilterSet.data_from(rf.get("/", {"page": "2"}).GET) is None
    kept = len(portal_filters._FIELDS_HTML)
    admin = UserFactory(organization=org, is_org_admin=True)
    assert "Anyone" in bar(admin, {}, AuditEventFilterSet)
    assert len(portal_filters._FIELDS_HTML) == kept
