"""The bulk import's cheaper writes keep what they write: event payloads built as plain dicts are
the model's ``model_dump``; events written as plain rows (``values_insert``) are the rows and the
published instances ``bulk_create`` gives; COPY's JSON texts are ``json.dumps``'; the redundant
single-column indexes are gone but every foreign key stays; a row's nested dicts, remembered by
path, are those of walking each path."""
import datetime as dt
import json
import random
import uuid
import zoneinfo

import pytest
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection

from orders.canonical.events import EVENT_MODELS, event_payload
from orders.intake.csv.fields import DATE_TARGETS, GENDER_TARGETS
from orders.models import Order, OrderEvent, OrderExam
from orders.services import events as events_module
from orders.services.events import events_record, order_event
from orders.services.order_batch import _copy_plan, values_insert
from patients.models import Patient

from .import_support import csv_bytes, row, run_import


def _model_payload(event_type, **fields):
    """event_payload as it was: always through the pydantic model."""
    model = EVENT_MODELS[event_type]
    event = model(result_object_type=str(event_type), **fields)
    return event.model_dump(mode="json", exclude_none=False, exclude={"warnings"} if not fields.get("warnings") else set())


def _odd_fields(rng: random.Random) -> dict:
    pick = rng.choice
    fields = {
        "transaction_id": uuid.uuid4(),
        "timestamp": pick([
            dt.datetime.now(dt.UTC), dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
            dt.datetime(2026, 1, 2, 3, 4, 5, 120000, tzinfo=dt.UTC), dt.datetime(1999, 12, 31, 23, 59, 59, 1, tzinfo=dt.UTC),
            dt.datetime(2026, 6, 1, 12, tzinfo=zoneinfo.ZoneInfo("America/New_York")),
            dt.datetime(2026, 6, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))), dt.datetime(2026, 6, 1, 12),
        ]),
    }
    optional = {
        "success": [True, False],
        "error_message": [None, "", "Patient.Dob: required", "ünïcode \"quoted\""],
        "warnings": [None, [], ["one"], ["a", "b"], ("tuple",), [1], ["x", None]],
        "iris_order_id": [None, 0, 17, 2**40, True, "17"],
        "order_local_id": [None, "", "O-1", " spaced ", 5],
        "patient_local_id": [None, "P-1", "ü"],
    }
    for name, choices in optional.items():
        if rng.random() < 0.8:
            fields[name] = pick(choices)
    return fields


def test_plain_event_payloads_are_the_models_dump():
    rng = random.Random(5)
    checked = 0
    for _ in range(3000):
        event_type = rng.choice(list(EVENT_MODELS))
        fields = _odd_fields(rng)
        try:
            expected = _model_payload(event_type, **fields)
        except Exception as exc:  # noqa: BLE001 - then the fast path must refuse too
            with pytest.raises(type(exc)):
                event_payload(event_type, **fields)
            continue
        got = event_payload(event_type, **fields)
        assert got == expected and list(got) == list(expected), (event_type, fields)
        assert json.dumps(got) == json.dumps(expected)
        checked += 1
    assert checked > 1000


def test_extra_fields_go_through_the_model():
    payload = event_payload("ImageReceipt", iris_order_id=1, image_local_id="IMG-1")
    assert payload["ImageLocalId"] == "IMG-1" and payload["ResultObjectType"] == "ImageReceipt"


def test_copy_json_texts_hold_the_values_json_dumps_writes():
    """The JSON columns are jsonb (PostgreSQL keeps the value, not the text): orjson's compact
    text for plain values; json.dumps' own text for the short lists it remembers, for what
    orjson would write its own way, and with a field's encoder."""
    assert {f.db_type(connection) for f in Order._meta.concrete_fields if f.get_internal_type() == "JSONField"} == {"jsonb"}
    plan = _copy_plan(Order)
    for value in ([], {}, ["DR"], ["DR", "AMD"], [1], [True], [1.0], [None], ["a", 1], {"a": 1}, {"a": True},
                  [["x"]], ["ü", "\"q\""], ["a", "b", "c", "d", "e"], None, "text", 3,
                  {"Warnings": ["w"], "IrisOrderId": 5, "Nested": {"k": [1, 2.5, None]}, "u": "ü\n\t\\"}):
        for _ in range(2):  # the second time from the remembered texts
            text = plan._json(value, None)
            assert json.loads(text) == value, value
            if isinstance(value, list) and len(value) <= 4 and all(type(item) is str for item in value):
                assert text == json.dumps(value)
    for value in ({1: "x"}, [2**70], _Text("s"), {"k": [_Text("s")]}):  # orjson refuses or writes them otherwise
        assert plan._json(value, None) == json.dumps(value), value
    stamp = dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC)
    with pytest.raises(TypeError):  # as json.dumps without an encoder (orjson would write its own text)
        plan._json({"v": stamp}, None)
    assert json.loads(plan._json({"v": uuid.UUID(int=7)}, None)) == {"v": str(uuid.UUID(int=7))}  # as Django's encoder
    for value in (stamp, uuid.UUID(int=7)):
        assert plan._json({"v": value}, DjangoJSONEncoder) == json.dumps({"v": value}, cls=DjangoJSONEncoder)


def test_copy_dates_and_times_are_iso_text_of_the_same_instant():
    plan = _copy_plan(Patient)
    names = [f.attname for f in Patient._meta.concrete_fields]
    stamp = dt.datetime(2026, 3, 4, 10, 30, 0, 123, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    values = {name: None for name in names} | {"dob": dt.date(1960, 1, 2), "created_at": stamp, "updated_at": "text"}
    for _ in range(2):
        row = plan.encoded(plan.values(values))
        assert row[names.index("dob")] == "1960-01-02"
        assert dt.datetime.fromisoformat(row[names.index("created_at")]) == stamp
        assert row[names.index("updated_at")] == "text"


class _Text(str):
    pass


def _event_rows(org):
    return [(e.event_type, e.success, e.error_message, e.payload, e.order_id, e.inbound_message_id, e.actor_id,
             e.organization_id, str(e.transaction_id), e.timestamp, e.published_at)
            for e in OrderEvent.objects.filter(organization=org).order_by("id")]


@pytest.mark.django_db
@pytest.mark.parametrize("publishers", [False, True])
def test_events_as_plain_rows_are_stored_and_published_as_bulk_create_does(demo, settings, monkeypatch,
                                                                            django_capture_on_commit_callbacks, publishers):
    from orders.services.inbox import inbound_store

    order = _an_order(demo)
    OrderEvent.objects.all().delete()
    inbound = inbound_store(channel="csv", body="{}", organization=demo)
    published = []
    settings.IRIS_EVENT_PUBLISHERS = ["a.publisher"] if publishers else []
    monkeypatch.setattr(events_module, "import_string", lambda path: published.append)
    made = [order_event("OrderCreationReceipt", order, warnings=["w"]), order_event("OrderCancelled", order),
            order_event("OrderCreationReceipt", None, success=False, error="Patient.Dob: required",
                        order_local_id="X", patient_local_id="Y")]

    with django_capture_on_commit_callbacks(execute=True):
        events_record(organization=demo, inbound=inbound, events=made)
    by_model = _event_rows(demo)
    OrderEvent.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        events_record(organization=demo, inbound=inbound, events=made, insert=lambda rows: values_insert(OrderEvent, rows))
    assert _event_rows(demo) == by_model
    if not publishers:
        assert published == []
        return
    instances, from_rows = published
    stored = {e.pk: e for e in OrderEvent.objects.all()}
    fields = ("organization_id", "order_id", "inbound_message_id", "event_type", "success", "error_message",
              "payload", "actor_id", "published_at")
    for before, event in zip(instances, from_rows, strict=True):
        assert type(event) is OrderEvent and not event._state.adding and event.pk in stored
        assert event.organization is demo and event.order is (order if event.order_id else None)
        assert event.inbound_message is inbound
        assert [getattr(event, f) for f in fields] == [getattr(before, f) for f in fields]
        assert [getattr(event, f) for f in fields] == [getattr(stored[event.pk], f) for f in fields]
        assert str(event.transaction_id) == str(stored[event.pk].transaction_id) and event.timestamp == stored[event.pk].timestamp


def _an_order(org) -> Order:
    _, summary = run_import(org, csv_bytes([row("W-1", "WM-1")]))
    assert summary["created"] == 1
    return Order.objects.select_related("patient").get(organization=org, local_id="W-1")


@pytest.mark.django_db
def test_redundant_single_column_indexes_are_gone_and_every_foreign_key_stays():
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL catalog")
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)",
                       [["orders_order", "orders_orderexam", "patients_patient"]])
        indexes = {name for (name,) in cursor.fetchall()}
        cursor.execute("SELECT conrelid::regclass::text, a.attname FROM pg_constraint c "
                       "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey) "
                       "WHERE c.contype = 'f' AND conrelid::regclass::text = ANY(%s)",
                       [["orders_order", "orders_orderexam", "patients_patient"]])
        foreign_keys = set(cursor.fetchall())
    for gone in ("orders_order_organization_id_7455e8e5", "orders_order_site_id_d7b69483",
                 "orders_orderexam_order_id_640bc371", "patients_patient_organization_id_772b1524",
                 "patients_patient_site_id_8ff546cd"):
        assert gone not in indexes
    for model in (Order, OrderExam, Patient):
        for field in model._meta.concrete_fields:
            if field.is_relation:
                assert (model._meta.db_table, field.column) in foreign_keys


def _request_as_before(plan, cells: list) -> dict:
    """FilePlan.request's column loop as it was: every value put by walking its whole path."""
    from orders.intake.csv.mapping import _put, cell_value

    body: dict = {}
    for column in plan.columns:
        if column.target in GENDER_TARGETS or column.index >= len(cells):
            continue
        value = cell_value(cells[column.index], "list" if column.target == "Order.EvaluationTypes" else
                           "date" if column.target in DATE_TARGETS else "text")
        if value is not None:
            _put(body, tuple(column.target.split(".")), value)
    return body


def test_a_rows_nested_dicts_are_built_as_by_walking_each_path():
    from orders.intake.csv.mapping import plan_build

    rng = random.Random(11)
    headers = [
        ["SiteLocalId", "OrderLocalId", "EvaluationType", "PatientLocalId", "PatientFirstName", "PatientLastName",
         "PatientDob", "OrderingProviderNPI", "OrderingProviderFirstName", "HealthPlanMemberId", "CPTCode"],
        ["CPTCode", "Order.CPTCode.Description", "Patient.Name.First", "Patient.LocalId"],  # a target inside another
        ["Order.CPTCode.Description", "CPTCode", "Order.CPTCode.Code", "PatientLastName"],
    ]
    cells = ["", " ", "x", " y ", "1/2/1960", "DR;AMD", None, 7, "ü"]
    for header in headers:
        plan = plan_build(header, client_guid="63e3c9ef-66ac-4154-b0c2-494515eb99a7")
        for _ in range(300):
            row_cells = [rng.choice(cells) for _ in range(rng.randint(0, len(header)))]
            try:
                expected = _request_as_before(plan, row_cells)
            except TypeError:  # a value where the other target needs an object: both fail alike
                with pytest.raises(TypeError):
                    plan.request(row_cells)
                continue
            got = plan.request(row_cells)
            for key in ("ClientGuid", "OrderControlCode"):
                got.pop(key, None)
            if "Order" in got and got["Order"].get("LocalId", "").startswith("CSV-") and \
                    "LocalId" not in (expected.get("Order") or {}):
                del got["Order"]["LocalId"]  # derived order id (no column for it)
                if not got["Order"]:
                    del got["Order"]
            assert json.dumps(got) == json.dumps(expected), (header, row_cells)


def test_copy_texts_start_over_when_full(monkeypatch):
    plan = _copy_plan(Patient)
    monkeypatch.setattr(plan, "_CACHED", 3)
    monkeypatch.setattr(plan, "_texts", {})
    names = [f.attname for f in Patient._meta.concrete_fields]
    for day in range(1, 10):
        values = {name: None for name in names} | {"dob": dt.date(1960, 1, day)}
        assert plan.encoded(plan.values(values))[names.index("dob")] == f"1960-01-0{day}"
        assert len(plan._texts) <= 4
    assert plan._json(["DR"], None) == '["DR"]' and len(plan._texts) <= 4


@pytest.mark.django_db
def test_array_texts_read_back_as_the_values_psycopg_would_send():
    from orders.services.order_batch import _array_text

    texts = ['plain', 'with "quotes"', 'back\\slash', 'a,b', '{braces}', ' spaced ', 'NULL', '', 'ü€', "new\nline"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT %s::varchar(64)[], %s::int[]", [_array_text(texts), _array_text([1, -2, 30])])
        assert cursor.fetchone() == (texts, [1, -2, 30])
    assert _array_text([1, "x"]) == [1, "x"] and _array_text([None]) == [None]  # left to psycopg
