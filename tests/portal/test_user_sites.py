"""The user's sites are read once per request for both the site limits (``user_site_ids``) and
the sites offered (``sites_visible_list``), and say what the querysets say."""
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from organizations.models import User
from organizations.selectors_admin import sites_visible, sites_visible_list, user_site_ids
from tests.factories import OrganizationFactory, SiteFactory, UserFactory

pytestmark = pytest.mark.django_db


def fresh(user):
    return User.objects.select_related("organization").get(pk=user.pk)


def test_the_list_matches_the_queryset_for_every_kind_of_user(org, north, south):
    elsewhere = SiteFactory(organization=OrganizationFactory())
    limited = UserFactory(organization=org)
    limited.sites.add(north)
    odd = UserFactory(organization=org)  # limited to another organization's site only (bad data)
    odd.sites.add(elsewhere)
    admin = UserFactory(organization=org, is_org_admin=True)
    admin.sites.add(south)
    users = [UserFactory(organization=org), limited, odd, admin, UserFactory(organization=None, is_clinic_staff=True),
             UserFactory(organization=org, is_clinic_staff=False, is_grader=True)]
    for user in users:
        assert sites_visible_list(user=fresh(user)) == list(sites_visible(user=fresh(user))), user.username
        assert sorted(user_site_ids(fresh(user))) == sorted(user.sites.values_list("pk", flat=True))
    assert sites_visible_list(user=fresh(limited)) == [north]
    assert sites_visible_list(user=fresh(odd)) == []  # never "no limits, so everything"


def test_one_query_per_user_object(org, north):
    user = fresh(UserFactory(organization=org))
    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            user_site_ids(user)
            sites_visible_list(user=user)
    assert len(captured) == 1


def test_order_visible_says_what_order_list_says(org, north, south):
    """``order_visible`` decides on the order object what ``order_list`` decides in SQL, for every
    kind of user and orders of both sites and of another organization."""
    from orders.selectors import order_list, order_visible
    from tests.factories import OrderFactory

    other_org = OrganizationFactory()
    orders = [OrderFactory(organization=org, site=north), OrderFactory(organization=org, site=south),
              OrderFactory(organization=other_org, site=SiteFactory(organization=other_org))]
    limited = UserFactory(organization=org)
    limited.sites.add(north)
    odd = UserFactory(organization=org)
    odd.sites.add(orders[2].site)
    admin = UserFactory(organization=org, is_org_admin=True)
    admin.sites.add(south)
    users = [UserFactory(organization=org), limited, odd, admin, UserFactory(organization=None, is_clinic_staff=True),
             UserFactory(organization=org, is_clinic_staff=False, is_grader=True),
             UserFactory(organization=other_org)]
    seen = {}
    for user in users:
        listed = set(order_list(user=fresh(user)).values_list("pk", flat=True))
        decided = {order.pk for order in orders if order_visible(order, user=fresh(user))}
        assert decided == listed, user.username
        seen[user.username] = len(decided)
    assert sorted(seen.values()) == [0, 0, 0, 1, 1, 2, 2]  # limited/other org see one, admin and plain two


@pytest.mark.parametrize("path", ["/orders/", "/patients/"])
def test_site_filters_accept_only_the_users_sites_without_a_query(client, org, north, south, other_org, path):
    """The site filter offers and accepts the user's visible sites (``choice_objects``): a site
    of another organization, or one a limited user does not work at, is an invalid choice."""
    from orders.models import Order
    from patients.models import Patient
    from tests.factories import OrderFactory, PatientFactory

    for site in (north, south):
        OrderFactory(patient=PatientFactory(site=site, last_name=f"At{site.local_id}"))
    limited = UserFactory(organization=org)
    limited.sites.add(north)
    client.force_login(limited)
    client.get(path)
    with CaptureQueriesContext(connection) as plain:
        client.get(path)
    with CaptureQueriesContext(connection) as filtered:
        response = client.get(f"{path}?site={north.pk}")
    assert response.status_code == 200 and response.context["filterset"].form.is_valid()
    assert len(filtered) == len(plain)  # the choice is checked against the sites already read
    shown = response.context["table"].page.object_list
    model = Order if path == "/orders/" else Patient
    assert {row.record.site_id for row in shown} == {north.pk} and isinstance(shown[0].record, model)
    for refused in (south, other_org.sites.get()):
        response = client.get(f"{path}?site={refused.pk}")
        form = response.context["filterset"].form
        assert not form.is_valid() and "site" in form.errors, refused
        assert "Select a valid choice" in response.content.decode()
