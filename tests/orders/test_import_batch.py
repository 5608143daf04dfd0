"""The batch path (orders/services/order_batch.py) applies the same rules as the one order
service: the same requests give the same orders, patients, exams, events and errors whether they
go one by one through order_request_process or in bulk through OrderBatch."""
import json

import pytest
from django.db import IntegrityError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import orders.services.order_batch as order_batch
from orders.canonical import RequestRejected
from orders.models import InboundMessage, Order, OrderEvent, OrderExam, OrderStatus
from orders.services.inbox import inbound_store
from orders.services.order_batch import CREATED, FAILED, UPDATED, OrderBatch
from orders.services.order_request import DUPLICATE_WARNING, order_request_process
from organizations.models import PatientScope, Site
from patients.models import Patient
from tests.factories import OrganizationFactory, SiteFactory

pytestmark = pytest.mark.django_db(transaction=False)

FIELDS = ("local_id", "status", "evaluation_types", "state", "source", "scheduled_time", "encounter_number",
          "cpt_code", "additional_info", "single_eye_only", "warnings", "user_name_submitting")


def make_org(scope=PatientScope.SITE, **kwargs):
    org = OrganizationFactory(evaluation_types=["DR", "AMD"], patient_scope=scope, **kwargs)
    SiteFactory(organization=org, local_id="S1", state="FL")
    SiteFactory(organization=org, local_id="S2", state="TX")
    SiteFactory(organization=org, local_id="OFF", state="GA", is_active=False)
    return org


def request(org, *, code="NW", order="O1", mrn="M1", site="S1", types=("DR",), first="Ada", last="Lovelace",
            dob="1/2/1960", npi=None, state=None, dept=None, guid=None):
    body = {"OrderControlCode": code, "ClientGuid": guid or str(org.client_guid), "Site": {"LocalId": site},
            "Order": {"LocalId": order, "EvaluationTypes": list(types)}}
    if code in ("NW", "XO"):
        body["Patient"] = {"LocalId": mrn, "Name": {"First": first, "Last": last}, "Dob": dob}
    if npi:
        body["OrderingProvider"] = {"NPI": npi, "Name": {"First": "Ord", "Last": f"Doc{npi[-2:]}"}}
    if state:
        body["Order"]["State"] = state
    if dept:
        body["Order"]["DepartmentId"] = dept
    return body


def one_by_one(org, bodies):
    results = []
    for body in bodies:
        outcome = order_request_process(body=body, channel="csv", organization=org)
        if not outcome.success:
            results.append((FAILED, outcome.error))
            continue
        duplicate = any(DUPLICATE_WARNING in (e.get("Warnings") or []) for e in outcome.events)
        results.append((CREATED if body["OrderControlCode"] == "NW" and not duplicate else UPDATED, ""))
    return results


def in_bulk(org, bodies, chunk=4, *, replays=0):
    batch = OrderBatch(organization=org, channel="csv", sender="test")
    results = []
    for start in range(0, len(bodies), chunk):
        inbound = inbound_store(channel="csv", body=json.dumps(bodies[start:start + chunk]), organization=org)
        for result in batch.process(list(enumerate(bodies[start:start + chunk], start)), inbound=inbound):
            results.append((result.outcome, RequestRejected(result.errors).message if result.errors else ""))
    # A replay through the service would hide a difference of the bulk path: none may happen here.
    assert batch.replayed == replays
    return results


def snapshot(org):
    """Everything the rules decide, without ids or times."""
    patients = sorted(Patient.objects.filter(organization=org).values_list(
        "site__local_id", "local_id", "first_name", "last_name", "dob", "floating", "dx_code"))
    orders = list((o.patient.local_id, o.site.local_id, o.department.local_id if o.department else None,
                     o.ordering_provider.npi if o.ordering_provider else None, *[getattr(o, f) for f in FIELDS])
                    for o in Order.objects.filter(organization=org).select_related("patient", "site", "department",
                                                                                    "ordering_provider"))
    orders = sorted(orders, key=repr)
    exams = sorted(OrderExam.objects.filter(order__organization=org).values_list(
        "order__local_id", "patient__local_id", "evaluation_type", "is_open"))
    events = [(e.event_type, e.success, e.error_message, e.payload.get("OrderLocalId"), e.payload.get("PatientLocalId"),
               tuple(e.payload.get("Warnings") or ()), e.order.local_id if e.order else None)
              for e in OrderEvent.objects.filter(organization=org).select_related("order").order_by("timestamp", "id")]
    return {"patients": patients, "orders": orders, "exams": exams, "events": events}


def assert_same(bodies_for, *, scope=PatientScope.SITE, chunk=4, replays=0, **org_kwargs):
    reference, batched = make_org(scope, **org_kwargs), make_org(scope, **org_kwargs)
    expected = one_by_one(reference, bodies_for(reference))
    got = in_bulk(batched, bodies_for(batched), chunk=chunk, replays=replays)
    assert got == expected
    assert snapshot(batched) == snapshot(reference)
    return got


# --- the rules, case by case ------------------------------------------------------------------


def test_r6_a_new_order_cancels_the_open_one_of_the_same_type_in_and_across_chunks():
    results = assert_same(lambda org: [
        request(org, order="O1"), request(org, order="O2"),                   # same chunk
        request(org, order="O3", types=("AMD",)), request(org, order="O4"),    # O4 cancels O2 (loaded? no: same run)
        request(org, order="O5", types=("DR", "AMD")),                         # next chunk: cancels O4 and O3 from the DB
    ])
    assert [kind for kind, _ in results] == [CREATED] * 5


def test_r6_duplicates_and_an_order_id_of_another_patient():
    results = assert_same(lambda org: [
        request(org, order="O1", mrn="M1"), request(org, order="O1", mrn="M1", last="Changed"),  # duplicate: nothing changes
        request(org, order="O1", mrn="M2"),                                                       # other patient
        request(org, order="O2", mrn="M2"), request(org, order="O1", mrn="M1"),                   # duplicate from the DB
    ])
    assert [kind for kind, _ in results] == [CREATED, UPDATED, FAILED, CREATED, UPDATED]
    assert results[2][1] == "Order.LocalId: 'O1' is already used for another patient"


def test_r3_and_r4_patient_identity_per_site_and_floating():
    def bodies(org):
        return [request(org, order="O1", mrn="M1", site="S1"), request(org, order="O2", mrn="M1", site="S2"),
                request(org, order="O3", mrn="M1", site="S1", last="Byron", types=("AMD",))]

    assert_same(bodies)
    assert_same(bodies, scope=PatientScope.ORGANIZATION)


def test_r7_state_and_the_checks_before_it():
    def bodies(org):
        nostate = Site.objects.create(organization=org, local_id="NS", name="No state")
        return [request(org, order="O1", state="Texas"), request(org, order="O2", site=nostate.local_id),
                request(org, order="O3", types=("Glaucoma",)), request(org, order="O4", site="OFF"),
                request(org, order="O5", site="NOPE"), request(org, order="O6", dob="31/31/1960"),
                request(org, order="O7", guid="not-a-guid"), request(org, order="O8", guid="00000000-0000-4000-8000-0000000000ff"),
                request(org, order="O9", npi="12345"), request(org, order="O10", npi="1234567890")]

    results = assert_same(bodies)
    assert [kind for kind, _ in results] == [CREATED, FAILED, FAILED, FAILED, FAILED, FAILED, FAILED, FAILED, FAILED, CREATED]


def test_providers_departments_and_changes_in_between():
    assert_same(lambda org: [
        request(org, order="O1", npi="1234567893", dept="EYE"), request(org, order="O2", mrn="M2", npi="1234567893", dept="EYE"),
        request(org, code="XO", order="O1", last="Changed", dept="RET"), request(org, order="O3", mrn="M3"),
        request(org, code="CA", order="O2"), request(org, order="O4", mrn="M2"), request(org, code="CA", order="NOPE"),
    ], chunk=10)


def test_a_constraint_race_in_the_bulk_write_replays_the_run_through_the_service(monkeypatch):
    real, calls = order_batch.rows_insert, []

    def racing(model, objects):
        if model is Order and not calls:
            calls.append(model)
            raise IntegrityError("simulated: a concurrent writer won")
        return real(model, objects)

    monkeypatch.setattr(order_batch, "rows_insert", racing)
    results = assert_same(lambda org: [request(org, order="O1"), request(org, order="O2", mrn="M2"), request(org, order="O1")],
                          replays=1)
    assert calls and [kind for kind, _ in results] == [CREATED, CREATED, UPDATED]


def test_the_chunk_inbox_message_is_finished():
    org = make_org()
    inbound = inbound_store(channel="csv", body="[]", organization=org)
    OrderBatch(organization=org, channel="csv").process([(1, request(org)), (2, request(org, dob="x"))], inbound=inbound)
    inbound.refresh_from_db()
    assert inbound.status == "processed" and inbound.error == "1 of 2 requests rejected"
    assert InboundMessage.objects.filter(channel="csv").count() == 1  # fast rows store nothing more
    assert Order.objects.get(organization=org).status == OrderStatus.AWAITING_IMAGES


# --- and any sequence ---------------------------------------------------------------------------

_rows = st.fixed_dictionaries({  # mostly valid new orders for few patients, so rules interact
    "code": st.sampled_from(["NW"] * 8 + ["XO", "CA"]),
    "order": st.sampled_from(["O1", "O2", "O3", "O4"]),
    "mrn": st.sampled_from(["M1", "M2"]),
    "site": st.sampled_from(["S1"] * 5 + ["S2"] * 2 + ["NOPE"]),
    "types": st.sampled_from([("DR",)] * 3 + [("AMD",)] * 2 + [("DR", "AMD"), ("Glaucoma",)]),
    "last": st.sampled_from(["Lovelace", "Byron"]),
    "dob": st.sampled_from(["1/2/1960"] * 7 + ["2/30/1960"]),
    "npi": st.sampled_from([None] * 4 + ["1234567893"] * 3 + ["123"]),
})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(rows=st.lists(_rows, min_size=2, max_size=10), floating=st.booleans(), chunk=st.integers(1, 5))
def test_any_sequence_gives_the_same_outcome_both_ways(rows, floating, chunk):
    scope = PatientScope.ORGANIZATION if floating else PatientScope.SITE
    assert_same(lambda org: [request(org, **row) for row in rows], scope=scope, chunk=chunk)
