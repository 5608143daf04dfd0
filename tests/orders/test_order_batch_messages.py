"""The batch path for stream channels (``OrderBatch.process_messages``: Cloud Direct entries, HL7
frames): each message has its own inbox row, and the outcome is the one order service's, message
by message: the same orders, patients, exams and events, and each inbox row finished with the
status, error and order that ``order_request_process(inbound=...)`` would give it."""
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orders.canonical import RequestRejected, parse_order_request
from orders.models import InboundMessage, InboundStatus, OrderEvent
from orders.services.inbox import inbound_store
from orders.services.order_batch import CREATED, FAILED, UPDATED, OrderBatch
from organizations.models import Device, PatientScope
from tests.orders.test_import_batch import _rows, make_org, one_by_one, request, snapshot

pytestmark = pytest.mark.django_db(transaction=False)


def as_messages(org, bodies, *, chunk=50, typed=False):
    """Each body stored as its own inbox row, then processed in batches of ``chunk``."""
    batch = OrderBatch(organization=org, channel="csv")
    results = []
    for start in range(0, len(bodies), chunk):
        messages = []
        for index, body in enumerate(bodies[start:start + chunk], start):
            inbound = inbound_store(channel="csv", body=str(body), organization=org, control_id=f"m{index}")
            parsed = _typed(body) if typed else body
            messages.append((index, parsed, inbound))
        for result in batch.process_messages(messages):
            results.append((result.outcome, RequestRejected(result.errors).message if result.errors else ""))
    assert batch.replayed == 0
    return results


def _typed(body):
    """What a channel adapter passes when it built the OrderRequest itself (HL7)."""
    try:
        return parse_order_request(body)
    except RequestRejected:
        return body


def inbox(org):
    """Each message's inbox row as the service leaves it, and its events, in message order."""
    rows = InboundMessage.objects.filter(organization=org).select_related("order").order_by("pk")
    return [(row.status, row.error, row.attempts, row.order.local_id if row.order else None,
             [(e.event_type, e.success) for e in OrderEvent.objects.filter(inbound_message=row).order_by("pk")])
            for row in rows]


def one_by_one_stored(org, bodies):
    """The reference: each message stored, then the service given its row (as the channels did)."""
    from orders.services.order_request import order_request_process

    for index, body in enumerate(bodies):
        inbound = inbound_store(channel="csv", body=str(body), organization=org, control_id=f"m{index}")
        order_request_process(body=body, channel="csv", organization=org, inbound=inbound)


def assert_same_messages(bodies_for, *, scope=PatientScope.SITE, chunk=50, typed=False, setup=None):
    reference, batched = make_org(scope), make_org(scope)
    for org in (reference, batched):
        if setup:
            setup(org)
    one_by_one_stored(reference, bodies_for(reference))
    got = as_messages(batched, bodies_for(batched), chunk=chunk, typed=typed)
    assert snapshot(batched) == snapshot(reference)
    assert inbox(batched) == inbox(reference)
    return got


def test_each_message_gets_its_own_row_status_order_and_events():
    results = assert_same_messages(lambda org: [
        request(org, order="O1"), request(org, order="O1"),               # duplicate: processed, nothing new
        request(org, order="O2", mrn="M2", dob="31/31/1960"),              # rejected, named
        request(org, order="O3"),                                          # R6: cancels O1
        request(org, code="XO", order="O3", last="Changed"),               # goes through the service in turn
        request(org, order="O4", mrn="M4", site="NOPE"),
    ])
    assert [kind for kind, _ in results] == [CREATED, UPDATED, FAILED, CREATED, UPDATED, FAILED]
    assert results[5][1] == "Site.LocalId: unknown site 'NOPE'"


def test_rejected_message_row_carries_the_error():
    org = make_org()
    as_messages(org, [request(org, order="O1", types=("Glaucoma",))])
    row = InboundMessage.objects.get(organization=org)
    assert (row.status, row.attempts) == (InboundStatus.REJECTED, 1)
    assert row.error == "Order.EvaluationTypes: not subscribed by this organization: Glaucoma"
    assert row.events.get().success is False


def test_orderrequests_built_by_an_adapter_and_cameras_without_images():
    def with_camera(org, order, camera):
        body = request(org, order=order, mrn=order)
        body["Camera"] = {"LocalId": camera}
        return body

    def cameras(org):
        Device.objects.create(site=org.sites.get(local_id="S1"), local_id="CAM1")

    assert_same_messages(lambda org: [with_camera(org, "O1", "CAM1"), with_camera(org, "O2", "UNKNOWN"),
                                      request(org, order="O3", dob="2/30/1960")],
                         typed=True, setup=cameras)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_rows, min_size=2, max_size=10), floating=st.booleans(), chunk=st.integers(1, 5))
def test_any_sequence_of_messages_gives_the_same_outcome_both_ways(rows, floating, chunk):
    scope = PatientScope.ORGANIZATION if floating else PatientScope.SITE
    assert_same_messages(lambda org: [request(org, **row) for row in rows], scope=scope, chunk=chunk)


def test_results_match_the_service_outcome_kinds():
    org = make_org()
    bodies = [request(org, order="O1"), request(org, order="O1")]
    reference = make_org()
    expected = one_by_one(reference, [request(reference, order="O1"), request(reference, order="O1")])
    assert as_messages(org, bodies) == expected
