"""The import's speed-ups keep its behaviour: the cyclic collector is paused only while a chunk
is imported; model instances built without ``Model.__init__`` (order_batch ``_Builder``,
``iris_portal.fast_models``) are the instances ``__init__``/``from_db`` would build; per-key lookups
(``_select(per_key=True)``) find what the join finds."""
import datetime as dt
import gc

import pytest
from django.db import connection, models

import orders.intake.csv.job as job_module
from orders.intake.csv.job import import_job_create, import_job_run
from orders.models import ImportSource, ImportStatus, Order, OrderExam
from orders.services.order_batch import _Builder, _select
from patients.models import Patient

from .import_support import csv_bytes, row


@pytest.mark.django_db
def test_the_cyclic_collector_is_paused_per_chunk_and_back_on_after_a_failing_chunk(demo, monkeypatch, settings):
    settings.IRIS_IMPORT_CHUNK_ROWS = 1
    job = import_job_create(organization=demo, content=csv_bytes([row("A", "M1"), row("B", "M2")]), name="o.csv",
                            source=ImportSource.COMMAND)
    real, during = job_module._chunk_import, []

    def chunk_import(*args):
        during.append(gc.isenabled())
        if len(during) == 2:
            raise RuntimeError("disk")
        return real(*args)

    monkeypatch.setattr(job_module, "_chunk_import", chunk_import)
    assert gc.isenabled()
    failed = import_job_run(job.pk)
    assert failed.status == ImportStatus.FAILED and failed.created_count == 1
    assert during == [False, False] and gc.isenabled()


@pytest.mark.django_db
def test_built_instances_are_those_of_model_init(demo):
    site = demo.sites.first()
    now = dt.datetime(2026, 1, 2, tzinfo=dt.UTC)
    patient_values = {"organization": demo, "site": site, "local_id": "M1", "floating": False}
    order_values = {"organization": demo, "patient": None, "site": site, "local_id": "O1", "evaluation_types": ["DR"],
                    "state": "FL", "source": "csv", "scheduled_time": now}
    for model, values in ((Patient, patient_values), (Order, order_values),
                          (OrderExam, {"order": None, "patient": None, "evaluation_type": "DR", "is_open": True})):
        built, reference = _Builder(model)(**values), model(**values)
        assert _Builder(model).plain
        assert _comparable(built) == _comparable(reference)
        assert built._state.fields_cache == reference._state.fields_cache
        assert (built._state.adding, built._state.db) == (reference._state.adding, reference._state.db)
    with pytest.raises(TypeError):
        _Builder(Order)(no_such_field=1)


@pytest.mark.django_db
def test_instances_loaded_without_init_are_those_of_from_db(demo):
    patient = Patient.objects.create(organization=demo, site=demo.sites.first(), local_id="M1", first_name="Ada",
                                     last_name="Lovelace", dob=dt.date(1960, 1, 2))
    for only in ((), ("local_id", "first_name")):
        fields = [f for f in Patient._meta.concrete_fields if not only or f.primary_key or f.attname in only]
        names = [f.attname for f in fields]
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT {', '.join(f.column for f in fields)} FROM patients_patient WHERE id = %s",
                           [patient.pk])
            values = cursor.fetchone()
        # Patient.from_db is the fast path the import's reads use (iris_portal.fast_models); the
        # reference is Django's own Model.from_db.
        loaded = Patient.from_db(connection.alias, names, values)
        reference = models.Model.from_db.__func__(Patient, connection.alias, names, values)
        assert _comparable(loaded) == _comparable(reference)
        assert loaded.get_deferred_fields() == reference.get_deferred_fields()
        assert (loaded._state.adding, loaded._state.db) == (False, connection.alias)


def _comparable(instance) -> dict:
    return {name: value for name, value in instance.__dict__.items() if name != "_state"}


@pytest.mark.django_db
def test_per_key_lookups_find_what_the_join_finds(demo):
    site = demo.sites.first()
    patients = [Patient.objects.create(organization=demo, site=site, local_id=f"M{i}", first_name="A", last_name="B",
                                       dob=dt.date(1960, 1, 2)) for i in range(3)]
    for i, patient in enumerate(patients):
        order = Order.objects.create(organization=demo, patient=patient, site=site, local_id=f"O{i}",
                                     evaluation_types=["DR", "AMD"], state="FL", source="csv")
        OrderExam.objects.create(order=order, patient=patient, evaluation_type="DR", is_open=i != 1)
        OrderExam.objects.create(order=order, patient=patient, evaluation_type="AMD", is_open=True)
    keys = {"patient_id": [patients[0].pk, patients[1].pk, patients[1].pk, 999_999]}

    def found(**kwargs):
        return sorted((e.patient_id, e.evaluation_type) for e in _select(OrderExam, keys=keys, where={"is_open": True},
                                                                           **kwargs))

    assert found(per_key=True) == found() == sorted([(patients[0].pk, "DR"), (patients[0].pk, "AMD"),
                                                     (patients[1].pk, "AMD")])
