"""List pages' compiled SQL kept per query state (iris_portal.compile_cache): a page served from
the cache runs exactly the SQL Django compiles for it, whatever other pages, users and
organizations filled the cache before."""
import pytest
from django.db import connection
from django.db.models import Exists, OuterRef
from django.db.models.sql.datastructures import Join
from django.test import Client
from django.test.utils import CaptureQueriesContext

from iris_portal import compile_cache
from iris_portal.compile_cache import compiled_once, fingerprint
from orders.models import Order, OrderExam
from tests.factories import OrderFactory, PatientFactory, UserFactory

pytestmark = pytest.mark.django_db

LIST_QUERIES = ["", "?page=2", "?status=open", "?status=complete", "?source=hl7", "?evaluation_type=DR",
                "?created_from=2020-01-01&created_to=2030-12-31", "?sort=-created_at", "?sort=patient",
                "?new_results=true", "?q=ORD", "?status=open&page=2"]


@pytest.fixture
def users(org, other_org, north, south):
    for site in (north, south, north):
        for _ in range(14):
            OrderFactory(patient=PatientFactory(site=site))
    for _ in range(3):
        OrderFactory(patient=PatientFactory(site=other_org.sites.get()))
    limited = UserFactory(organization=org, username="northonly")
    limited.sites.add(north)
    return [UserFactory(organization=org, username="everywhere"), limited,
            UserFactory(organization=org, username="admin", is_org_admin=True),
            UserFactory(organization=other_org, username="elsewhere")]


def page_sql(client, path) -> tuple[list[str], bytes]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, path
    return [query["sql"] for query in captured.captured_queries if "iris_portal_auditevent" not in query["sql"]], \
        response.content.replace(response.wsgi_request.META.get("CSRF_COOKIE", "").encode() or b"\0", b"")


def test_pages_from_the_cache_run_the_sql_django_compiles(users, north):
    """Every list view of every user once with a cold cache (Django's own compile), then all of
    them again in another order with the cache shared: the same SQL, page for page."""
    clients = {}
    for user in users:
        clients[user.username] = Client()
        clients[user.username].force_login(user)
    paths = [f"/orders/{query}" for query in LIST_QUERIES] + [f"/orders/?site={north.pk}", "/patients/",
                                                               "/patients/?page=2"]
    fresh = {}
    for name, client in clients.items():
        for path in paths:
            compile_cache.clear()
            client.get(path)  # session-dependent state settles (the column choice, the site)
            compile_cache.clear()
            fresh[name, path] = page_sql(client, path)[0]
    compile_cache.clear()
    hits = compile_cache.stats["hits"]
    for path in reversed(paths):
        for name, client in reversed(clients.items()):
            for _ in range(2):
                assert page_sql(client, path)[0] == fresh[name, path], (name, path)
    assert compile_cache.stats["hits"] - hits >= len(paths) * len(clients)


def test_the_state_of_a_query_decides_and_values_count():
    base = Order.objects.filter(organization_id=1)
    same = [fingerprint(compiled_once(Order.objects.filter(organization_id=1)).query) for _ in range(2)]
    assert same[0] == same[1]
    different = [base.filter(status="complete"), Order.objects.filter(organization_id=2), base.order_by("pk"),
                 base[:25], base[25:50], base.only("pk"), base.select_related("patient"),
                 base.exclude(status="complete"), base.filter(site__name="North")]
    prints = [fingerprint(queryset.query) for queryset in [base, *different]]
    assert len(set(prints)) == len(prints)


def test_a_join_type_is_part_of_the_state():
    inner = Order.objects.filter(site__name="North")
    outer = Order.objects.filter(site__name="North")
    alias = next(alias for alias, join in outer.query.alias_map.items() if isinstance(join, Join))
    outer.query.alias_map[alias] = outer.query.alias_map[alias].promote()  # LEFT OUTER JOIN
    assert "LEFT OUTER JOIN" in str(outer.query) and "LEFT OUTER JOIN" not in str(inner.query)
    assert inner.query.alias_map[alias] == outer.query.alias_map[alias]  # Django's own equality
    assert fingerprint(inner.query) != fingerprint(outer.query)


def test_subqueries_compare_by_identity_so_are_compiled_each_time(org):
    def with_exams():
        return compiled_once(Order.objects.filter(Exists(OrderExam.objects.filter(order=OuterRef("pk")))))

    misses = compile_cache.stats["misses"]
    first, second = (str(with_exams().query) for _ in range(2))
    assert first == second
    assert compile_cache.stats["misses"] - misses == 2


def test_writes_through_a_cached_queryset_compile_as_usual(org, north):
    order = OrderFactory(patient=PatientFactory(site=north))
    queryset = compiled_once(Order.objects.filter(pk=order.pk))
    assert list(queryset) == [order] and queryset.count() == 1
    assert queryset.update(local_id="CHANGED") == 1
    assert list(compiled_once(Order.objects.filter(pk=order.pk)).values_list("local_id", flat=True)) == ["CHANGED"]


def test_equal_numbers_of_other_types_are_other_states():
    from django.db.models import Value

    as_int = Order.objects.annotate(flag=Value(1)).filter(organization_id=1)
    as_bool = Order.objects.annotate(flag=Value(True)).filter(organization_id=1)
    assert fingerprint(as_int.query) != fingerprint(as_bool.query)
    assert fingerprint(as_int.query) == fingerprint(Order.objects.annotate(flag=Value(1)).filter(organization_id=1).query)
