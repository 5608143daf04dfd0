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
