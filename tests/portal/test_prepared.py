"""Querysets compiled once (iris_portal.prepared): the same SQL and rows as Django's own."""
import inspect
import threading
import uuid

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

import delivery.results.selectors
import delivery.selectors
import grading.selectors
import iris_portal.auth_backends
import orders.views_portal
from grading.services import grading_submit
from iris_portal.prepared import PreparedQuery
from orders.models import OrderEvent, Patient
from tests.factories import HostOrganizationFactory, PatientFactory, UserFactory
from tests.grading.conftest import make_grader, make_ready_order, normal_dr

pytestmark = pytest.mark.django_db

USED_BY = (delivery.results.selectors, delivery.selectors, grading.selectors, iris_portal.auth_backends,
           orders.views_portal)


def test_every_prepared_query_runs_the_sql_django_would():
    """For each prepared query of the code base (integer arguments), the SQL and parameters
    equal what Django compiles for the same builder and values."""
    assert len(PreparedQuery.instances) >= 6, USED_BY
    for prepared in PreparedQuery.instances:
        names = inspect.signature(prepared.build).parameters
        for values in ({name: 7 for name in names}, {name: 1234 + index for index, name in enumerate(names)}):
            sql, params = prepared.build(**values).query.sql_with_params()
            assert prepared.sql(**values) == (sql, tuple(params)), sql


@pytest.fixture
def graded_order():
    order = make_ready_order()
    grader = make_grader(HostOrganizationFactory(), order.state)
    grading_submit(order=order, grader=grader, od=normal_dr(), os=normal_dr())
    return order


def test_rows_relations_and_prefetches_are_djangos(graded_order, django_assert_num_queries):
    current = graded_order.gradings.filter(superseded=False).order_by("-version").first()
    with django_assert_num_queries(2):  # the grading with grader and provider, then its eyes
        found = grading.selectors.grading_current(order=graded_order)
    assert found == current and found.version == current.version
    with django_assert_num_queries(0):
        grader, provider, eyes = found.grader, found.grader.provider, sorted(eye.laterality for eye in found.eyes.all())
    assert (grader, provider, eyes) == (current.grader, current.grader.provider, ["OD", "OS"])

    expected = list(OrderEvent.objects.filter(order=graded_order).order_by("timestamp", "pk"))
    events = orders.views_portal._EVENTS_OF_ORDER(order_id=graded_order.pk)
    assert events == expected and len(events) >= 2
    assert [event.payload for event in events] == [event.payload for event in expected]  # JSON converted
    assert [event.timestamp for event in events] == [event.timestamp for event in expected]


def test_each_call_uses_its_own_arguments(graded_order):
    other = make_ready_order()
    assert grading.selectors.grading_current(order=other) is None
    assert grading.selectors.grading_current(order=graded_order).order_id == graded_order.pk
    OrderEvent.objects.create(organization=other.organization, order=other, event_type="OrderCreationReceipt",
                              transaction_id=uuid.uuid4(), timestamp=timezone.now(), payload={})
    events = orders.views_portal._EVENTS_OF_ORDER
    assert {event.order_id for event in events(order_id=other.pk)} == {other.pk}
    assert {event.order_id for event in events(order_id=graded_order.pk)} == {graded_order.pk}
    assert events(order_id=-1) == []


def test_users_load_through_the_backend_in_one_query(django_assert_num_queries):
    user = UserFactory()
    backend = iris_portal.auth_backends.PortalModelBackend()
    with django_assert_num_queries(1):
        loaded = backend.get_user(str(user.pk))  # the session keeps it as a string
        assert loaded == user and loaded.organization == user.organization
    assert backend.get_user("not a number") is None and backend.get_user(10**9) is None
    user.is_active = False
    user.save()
    assert backend.get_user(user.pk) is None


def test_a_thread_runs_on_its_own_connection():
    prepared = PreparedQuery(lambda pk: Patient.objects.filter(pk=pk))
    assert prepared(pk=PatientFactory().pk)  # compiled here, on this thread's connection
    outcome = []

    def other_thread():
        try:
            with CaptureQueriesContext(connections["default"]) as captured:
                outcome.append((prepared(pk=-1), len(captured), connections["default"] is not connection))
        finally:
            connections.close_all()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert outcome == [([], 1, True)]


def test_what_cannot_be_prepared_is_refused():
    with pytest.raises(ValueError, match="do not reach the SQL"):  # 'x%' is not the argument
        PreparedQuery(lambda name: Patient.objects.filter(last_name__startswith=name))(name="x")
    with pytest.raises(ValueError, match="prefetch="):
        PreparedQuery(lambda pk: Patient.objects.filter(pk=pk).prefetch_related("orders"))(pk=1)
    with pytest.raises(TypeError, match="only int and str"):
        PreparedQuery(lambda pk: Patient.objects.filter(pk=pk))(pk=None)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side prepared statements are PostgreSQL's")
def test_postgresql_plans_each_prepared_query_once_per_connection(graded_order, django_assert_num_queries):
    """The second run of a prepared query reuses the statement PostgreSQL parsed and planned for
    the first, and both still count as queries for the query-count guards."""
    events = orders.views_portal._EVENTS_OF_ORDER
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection.connection._prepared._names.clear()  # psycopg's own map of what is prepared

    def prepared_event_statements() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s",
                           ['%FROM "orders_orderevent"%'])
            return cursor.fetchone()[0]

    with django_assert_num_queries(2):
        first = events(order_id=graded_order.pk)
        second = events(order_id=graded_order.pk)
    assert first == second and len(first) >= 2
    assert prepared_event_statements() == 1
    events(order_id=make_ready_order().pk)
    assert prepared_event_statements() == 1


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side prepared statements are PostgreSQL's")
def test_without_prepared_statements_the_same_rows_come_unprepared(graded_order, settings):
    """DB_PREPARED_STATEMENTS=0: nothing is prepared on the server (a transaction-mode PgBouncer
    could not route it), the rows are the same."""
    events = orders.views_portal._EVENTS_OF_ORDER
    expected = events(order_id=graded_order.pk)
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection.connection._prepared._names.clear()
    settings.IRIS_PREPARED_STATEMENTS = False
    assert events(order_id=graded_order.pk) == expected
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cursor.fetchone()[0] == 0


@pytest.mark.skipif(connection.vendor != "postgresql", reason="server-side prepared statements are PostgreSQL's")
def test_other_queries_are_left_out_of_psycopgs_bookkeeping(graded_order):
    """psycopg's prepare threshold is set only while a prepared query runs: with one set, psycopg
    would keep the text of every other query too (megabytes for a bulk import's)."""
    raw = connection.connection
    raw._prepared._counts.clear()
    orders.views_portal._EVENTS_OF_ORDER(order_id=graded_order.pk)
    assert raw.prepare_threshold is None
    list(OrderEvent.objects.filter(order_id=graded_order.pk))  # Django's own cursor
    assert len(raw._prepared._counts) == 0


def test_prepared_rows_keeps_the_leading_columns_asked_for():
    from iris_portal.prepared import prepared_rows

    assert prepared_rows(connection, "SELECT %s, %s + 1", [1, 2]) == [(1, 3)]
    assert prepared_rows(connection, "SELECT %s, %s + 1", [1, 2], width=1) == [(1,)]


def test_prepared_insert_writes_what_save_writes(django_assert_num_queries):
    from iris_portal.models import AuditEvent
    from iris_portal.prepared import prepared_insert

    user = UserFactory()
    fields = dict(user=user, organization_id=user.organization_id, action="view", object_type="order",
                  object_id="12", path="/orders/12/?q=%27x", ip_address="2001:db8::1", user_agent="Agent \u00e9")
    saved = AuditEvent.objects.create(**fields)
    before = timezone.now()
    event = AuditEvent(**fields)
    with django_assert_num_queries(1):
        prepared_insert(event)
    assert event.pk and event.pk != saved.pk and not event._state.adding
    assert event.at >= before  # auto_now_add set by the field, as save() does

    def stored(pk):
        row = AuditEvent.objects.filter(pk=pk).values().get()
        return {key: value for key, value in row.items() if key not in ("id", "at")}

    assert stored(event.pk) == stored(saved.pk)
    assert AuditEvent.objects.get(pk=event.pk).at == event.at


def test_the_order_page_query_loads_what_django_loads(graded_order, django_assert_num_queries):
    """The order page's nine-table SELECT through the prepared loader: every field of the order
    and of each related object as Django's own queryset loads them, relations cached."""
    from django.forms.models import model_to_dict

    expected = orders.views_portal.Order.objects.select_related(*orders.views_portal.ORDER_PAGE_RELATIONS).get(
        pk=graded_order.pk)
    with django_assert_num_queries(1):
        (found,) = orders.views_portal._ORDER_PAGE(pk=graded_order.pk)
    with django_assert_num_queries(0):
        for relation in orders.views_portal.ORDER_PAGE_RELATIONS:
            path = relation.split("__")
            mine, theirs = found, expected
            for step in path:
                mine, theirs = getattr(mine, step), getattr(theirs, step)
            assert (mine is None) == (theirs is None), relation
            if mine is not None:
                assert type(mine) is type(theirs) and model_to_dict(mine) == model_to_dict(theirs), relation
    assert model_to_dict(found) == model_to_dict(expected) and found.created_at == expected.created_at


@pytest.mark.parametrize(("setting", "expected"), [("1", True), ("0", False)])
def test_the_setting_turns_prepared_statements_on_and_off(setting, expected):
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/unused", "DB_PREPARED_STATEMENTS": setting,
           "DJANGO_SETTINGS_MODULE": "iris_portal.settings"}
    code = "import json; from django.conf import settings; print(json.dumps(settings.IRIS_PREPARED_STATEMENTS))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1]) is expected


def test_related_manager_querysets_are_refused_when_compiled(graded_order):
    """A related manager's queryset carries its instance (known related objects), which the
    row loader does not set: refused, like querysets with prefetch_related."""
    prepared = PreparedQuery(lambda order_id: graded_order.events.filter(pk=order_id))
    PreparedQuery.instances.remove(prepared)
    with pytest.raises(ValueError, match="plain model queryset"):
        prepared(order_id=1)
