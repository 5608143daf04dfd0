"""The frame: navigation by role (only installed pages), the site switcher, messages, error
pages, security headers, the column chooser."""
import pytest
from django.urls import reverse

from iris_portal.navigation import NavLink, navigation
from iris_portal.site_switcher import CURRENT_SITE_SESSION_KEY
from tests.factories import OrderFactory, PatientFactory, ProviderFactory, UserFactory

pytestmark = pytest.mark.django_db


def nav_labels(response) -> list[str]:
    return [label for section in response.context["nav_sections"] for label, _ in section.links]


def test_clinic_staff_see_dashboard_orders_patients_only(clinic):
    page = clinic.get("/")
    sections = [section.label for section in page.context["nav_sections"]]
    assert sections == ["Dashboard", "Orders", "Patients"]


def test_org_admin_also_sees_the_organization_menu(admin):
    page = admin.get("/")
    labels = nav_labels(page)
    assert [section.label for section in page.context["nav_sections"]] == ["Dashboard", "Orders", "Patients",
                                                                          "Organization"]
    assert {"Sites", "Departments", "Cameras", "Users", "Audit log"} <= set(labels)
    assert b'data-bs-toggle="dropdown"' in page.content


def test_integration_admin_sees_integrations_and_no_patient_data(client, org):
    user = UserFactory(organization=org, is_clinic_staff=False, is_integration_admin=True)
    client.force_login(user)
    page = client.get("/")
    sections = {section.label: [label for label, _ in section.links] for section in page.context["nav_sections"]}
    assert "Cloud Direct" in sections["Integrations"] and "Dead letters" in sections["Integrations"]
    assert "Orders" not in sections and "Patients" not in sections
    assert page.templates[0].name == "portal/welcome.html"
    assert client.get(reverse("orders:list")).status_code == 403


def test_grader_pcp_and_staff_links(client, org):
    grader = UserFactory(is_clinic_staff=False, is_grader=True, provider=ProviderFactory())
    client.force_login(grader)
    assert nav_labels(client.get("/")) == ["Grading queue"]
    staff = UserFactory(organization=org, is_clinic_staff=False, is_staff=True)
    client.force_login(staff)
    assert nav_labels(client.get("/")) == ["Admin"]


def test_links_to_pages_that_are_not_installed_are_left_out(rf, clinic_user, monkeypatch):
    import iris_portal.navigation as nav

    monkeypatch.setattr(nav, "NAV_LINKS", [*nav.NAV_LINKS,
                                           NavLink("Orders", "Missing page", names=("orders:not-there",)),
                                           NavLink("Orders", "Missing path", path="/not/a/page/")])
    labels = [label for section in navigation(clinic_user, "/") for label, _ in section.links]
    assert "Missing page" not in labels and "Missing path" not in labels and "Orders" in labels


def test_site_switcher_filters_lists_and_dashboard(clinic, north, south):
    OrderFactory(patient=PatientFactory(site=north), local_id="N-1")
    OrderFactory(patient=PatientFactory(site=south), local_id="S-1")
    page = clinic.get(reverse("orders:list"))
    assert b"data-site-switcher" in page.content and b"N-1" in page.content and b"S-1" in page.content

    response = clinic.post(reverse("site-switch"), {"site": south.pk, "next": "/orders/"})
    assert response.status_code == 302 and response.url == "/orders/"
    assert clinic.session[CURRENT_SITE_SESSION_KEY] == south.pk
    page = clinic.get(reverse("orders:list")).content.decode()
    assert "S-1" in page and "N-1" not in page
    dashboard = clinic.get("/").content.decode()
    assert "S-1" in dashboard and "N-1" not in dashboard

    clinic.post(reverse("site-switch"), {"site": ""})
    assert CURRENT_SITE_SESSION_KEY not in clinic.session


def test_site_switcher_refuses_a_site_the_user_does_not_work_at(client, org, north, south, other_org):
    user = UserFactory(organization=org)
    user.sites.add(north, south)
    client.force_login(user)
    away = other_org.sites.get()
    response = client.post(reverse("site-switch"), {"site": away.pk}, follow=True)
    assert CURRENT_SITE_SESSION_KEY not in client.session
    assert "not one of yours" in response.content.decode()


def test_no_switcher_for_a_user_with_one_site(client, org, north):
    user = UserFactory(organization=org)
    user.sites.add(north)
    client.force_login(user)
    assert b"data-site-switcher" not in client.get("/").content


def test_site_switcher_open_redirect_is_refused(clinic, south):
    response = clinic.post(reverse("site-switch"), {"site": south.pk, "next": "https://evil.example/"})
    assert response.url == "/"


def test_error_pages_use_the_frame(clinic):
    response = clinic.get("/patients/999999/")
    assert response.status_code == 404
    assert b"Page not found" in response.content and b"IRIS Portal" in response.content


def test_403_page(client, org):
    client.force_login(UserFactory(organization=org, is_clinic_staff=False, is_pcp=True, provider=ProviderFactory()))
    response = client.get(reverse("patients:list"))
    assert response.status_code == 403 and b"Not allowed" in response.content


def test_500_page_renders_without_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")
    assert "Something went wrong" in html


def test_security_headers(clinic):
    response = clinic.get("/")
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]


def test_column_chooser_keeps_the_choice_per_user_session(clinic, north):
    OrderFactory(patient=PatientFactory(site=north), cpt_code="92250")
    page = clinic.get(reverse("orders:list"))
    table = page.context["table"]
    assert [c.name for c in table.columns] == list(type(table).default_columns)
    response = clinic.post(reverse("table-columns"), {"table": table.chooser_key(), "columns": ["cpt_code", "status"],
                                                      "next": "/orders/"})
    assert response.status_code == 302
    shown = [c.name for c in clinic.get(reverse("orders:list")).context["table"].columns]
    assert shown == ["local_id", "status", "cpt_code"]
    clinic.post(reverse("table-columns"), {"table": table.chooser_key(), "reset": "1"})
    assert [c.name for c in clinic.get(reverse("orders:list")).context["table"].columns] == \
        list(type(table).default_columns)


def test_column_chooser_ignores_unknown_tables_and_columns(clinic):
    response = clinic.post(reverse("table-columns"), {"table": "nope.Table", "columns": ["x"]}, follow=True)
    assert "Unknown table" in response.content.decode()
    from orders.tables import OrderTable

    clinic.post(reverse("table-columns"), {"table": OrderTable.chooser_key(), "columns": ["password", "status"]})
    shown = [c.name for c in clinic.get(reverse("orders:list")).context["table"].columns]
    assert shown == ["local_id", "status"]


def test_messages_are_shown(clinic, north):
    patient = PatientFactory(site=north)
    response = clinic.post(reverse("patients:edit", args=[patient.pk]), {
        "first_name": "Janet", "last_name": patient.last_name, "dob": "1960-01-02", "dx_code": "E11"}, follow=True)
    assert b"alert-success" in response.content and b"Saved" in response.content


def test_list_tables_are_well_formed(clinic, north):
    """Every row has one cell per header, each cell a real <td> with its attributes."""
    from html.parser import HTMLParser

    OrderFactory(patient=PatientFactory(site=north), local_id="WF-1")

    class Cells(HTMLParser):
        def __init__(self):
            super().__init__()
            self.rows, self.headers, self.in_table = [], 0, False

        def handle_starttag(self, tag, attrs):
            if tag == "table" and "portal-table" in dict(attrs).get("class", ""):
                self.in_table = True
            elif self.in_table and tag == "th":
                self.headers += 1
            elif self.in_table and tag == "tr":
                self.rows.append([])
            elif self.in_table and tag == "td":
                self.rows[-1].append(dict(attrs))

        def handle_endtag(self, tag):
            if tag == "table":
                self.in_table = False

    parser = Cells()
    parser.feed(clinic.get(reverse("orders:list")).content.decode())
    body = [row for row in parser.rows if row]
    assert body and parser.headers == 8 and all(len(row) == parser.headers for row in body)
    assert body[0][0] == {"class": "fw-semibold"}


# The navigation bar as base.html wrote it before iris_portal.templatetags.portal_frame.
NAV_TEMPLATE = """<nav class="navbar navbar-expand-lg navbar-dark bg-primary mb-4 portal-nav" aria-label="Main">
  <div class="container-fluid">
    <a class="navbar-brand fw-semibold" href="{% url 'home' %}">IRIS Portal</a>
    {% if user.is_authenticated and two_factor_pending %}
    <form method="post" action="{% url 'logout' %}" class="ms-auto">{% csrf_token %}<button class="btn btn-outline-light btn-sm" type="submit">Sign out</button></form>
    {% elif user.is_authenticated %}
    <button class="navbar-toggler" type="button" data-bs-toggle="collapse" data-bs-target="#nav" aria-controls="nav" aria-expanded="false" aria-label="Menu">
      <span class="navbar-toggler-icon"></span>
    </button>
    <div class="collapse navbar-collapse" id="nav">
      <ul class="navbar-nav me-auto" data-nav>
        {% for section in nav_sections %}
          {% if section.is_menu %}
          <li class="nav-item dropdown">
            <a class="nav-link dropdown-toggle{% if section.active %} active{% endif %}" href="#" role="button" data-bs-toggle="dropdown" aria-expanded="false">{{ section.label }}</a>
            <ul class="dropdown-menu">
              {% for label, url in section.links %}<li><a class="dropdown-item" href="{{ url }}">{{ label }}</a></li>{% endfor %}
            </ul>
          </li>
          {% else %}
          {% with link=section.links.0 %}
          <li class="nav-item"><a class="nav-link{% if section.active %} active{% endif %}" href="{{ link.1 }}"{% if section.active %} aria-current="page"{% endif %}>{{ link.0 }}</a></li>
          {% endwith %}
          {% endif %}
        {% endfor %}
      </ul>
      <ul class="navbar-nav align-items-lg-center">
        {% if switcher_sites %}
        <li class="nav-item dropdown me-lg-2" data-site-switcher>
          <a class="nav-link dropdown-toggle" href="#" role="button" data-bs-toggle="dropdown" aria-expanded="false">
            <span class="opacity-75 small">Site:</span> {% if switcher_current %}{{ switcher_current.name }}{% else %}All sites{% endif %}
          </a>
          <form method="post" action="{% url 'site-switch' %}" class="dropdown-menu dropdown-menu-end">{% csrf_token %}
            <input type="hidden" name="next" value="{{ request.get_full_path }}">
            <button class="dropdown-item{% if not switcher_current %} active{% endif %}" type="submit" name="site" value="">All sites</button>
            <div class="dropdown-divider"></div>
            {% for site in switcher_sites %}
            <button class="dropdown-item{% if switcher_current.pk == site.pk %} active{% endif %}" type="submit" name="site" value="{{ site.pk }}">{{ site.name }} <span class="text-secondary small">{{ site.local_id }}</span></button>
            {% endfor %}
          </form>
        </li>
        {% endif %}
        <li class="nav-item dropdown">
          <a class="nav-link dropdown-toggle" href="#" role="button" data-bs-toggle="dropdown" aria-expanded="false" data-user-menu>
            {{ user.get_username }}{% if user.organization %} <span class="opacity-75 small d-lg-none d-xl-inline">· {{ user.organization.name }}</span>{% endif %}
          </a>
          <ul class="dropdown-menu dropdown-menu-end">
            {% if user.organization %}<li><span class="dropdown-item-text small text-secondary">{{ user.organization.name }}</span></li>{% endif %}
            <li><a class="dropdown-item" href="{% url 'two-factor-enrol' %}">Two-factor authentication</a></li>
            <li><a class="dropdown-item" href="{% url 'password_change' %}">Change password</a></li>
            <li><hr class="dropdown-divider"></li>
            <li><form method="post" action="{% url 'logout' %}">{% csrf_token %}<button class="dropdown-item" type="submit">Sign out</button></form></li>
          </ul>
        </li>
      </ul>
    </div>
    {% endif %}
  </div>
</nav>"""


def _nav_pair(response):
    """(the page's navigation bar, the old template rendered from the same page context)."""
    import re

    from django.template import Context, Template

    html = response.content.decode()
    built = re.search(r'<nav class="navbar.*?</nav>', html, re.S).group(0)
    contexts = response.context if isinstance(response.context, list) else [response.context]
    expected = Template(NAV_TEMPLATE).render(Context(contexts[0].flatten()))

    def tidy(text):
        return re.sub(r"\s*(<[^>]+>)\s*", r"\1", text).strip()

    return tidy(built), tidy(expected)


def test_navigation_bar_matches_the_template_it_replaced(client, org, north, south, clinic_user, org_admin):
    """Clinic staff with the site switcher (all sites, then one chosen), a user limited to one
    site, an organization admin's menus, a sign-in waiting for the second factor, and nobody."""
    from iris_portal.middleware import SIGNIN_SESSION_KEY

    north.name = 'North & "East" <Clinic>'
    north.save()
    client.force_login(clinic_user)
    pages = [client.get("/"), client.get("/orders/?status=open&q=a%26b")]
    session = client.session
    session[CURRENT_SITE_SESSION_KEY] = north.pk
    session.save()
    pages.append(client.get("/patients/"))
    limited = UserFactory(organization=org)
    limited.sites.add(south)
    client.force_login(limited)
    pages.append(client.get("/orders/"))
    client.force_login(org_admin)
    pages.append(client.get("/org/sites/"))
    session = client.session
    session[SIGNIN_SESSION_KEY] = True
    session.save()
    pages.append(client.get(reverse("two-factor-enrol")))
    client.logout()
    pages.append(client.get(reverse("login")))
    for page in pages:
        assert page.status_code == 200, page.request
        built, expected = _nav_pair(page)
        assert built == expected, page.request["PATH_INFO"]
    switchers = [b"data-site-switcher" in page.content for page in pages]
    assert switchers == [True, True, True, False, True, False, False]
    assert b"North &amp; &quot;East&quot; &lt;Clinic&gt;" in pages[2].content


def test_sections_are_worked_out_per_set_of_roles_and_marked_active_per_path(org, clinic_user):
    """Users with the same roles share the worked-out sections; the active section follows
    each request's path (a cached list must not carry one page's active flag to another)."""
    admin = UserFactory(organization=org, is_org_admin=True)
    orders_page = navigation(clinic_user, "/orders/12/")
    assert [section.label for section in orders_page if section.active] == ["Orders"]
    assert [section.label for section in navigation(clinic_user, "/patients/") if section.active] == ["Patients"]
    assert [section.label for section in navigation(clinic_user, "/") if section.active] == ["Dashboard"]
    assert [section.label for section in navigation(clinic_user, "/orders/12/") if section.active] == ["Orders"]
    admin_sections = [section.label for section in navigation(admin, "/org/sites/")]
    assert "Organization" in admin_sections and "Organization" not in [s.label for s in orders_page]
    another = UserFactory(organization=org, username="second-clinician")
    assert [(s.label, s.links) for s in navigation(another, "/")] == \
        [(s.label, s.links) for s in navigation(clinic_user, "/")]
    navigation(clinic_user, "/")[0].links.append(("changed", "/x/"))  # a page's own copy
    assert ("changed", "/x/") not in navigation(clinic_user, "/")[0].links


def test_views_get_the_user_itself_not_lazy_wrappers(client, clinic_user):
    """After the middleware, ``request.user`` is the user (django-otp's attributes on it), not
    the auth and OTP middleware's lazy proxies; anonymous visitors get AnonymousUser."""
    from django.contrib.auth.models import AnonymousUser
    from django.utils.functional import LazyObject

    from organizations.models import User

    response = client.get("/orders/")
    assert response.status_code == 302 and isinstance(response.wsgi_request.user, AnonymousUser)
    client.force_login(clinic_user)
    request = client.get("/orders/").wsgi_request
    assert type(request.user) is User and not isinstance(request.user, LazyObject)
    assert request.user.pk == clinic_user.pk and request.user.is_verified() is False
