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
