"""Imports with each chunk's COMMIT finishing in the background (iris_portal.commit_behind):
the same outcome as one chunk after the other, a failed COMMIT fails the job without keeping
the chunk after it, on-commit hooks run in the importing thread, connections come back as they
were. These tests commit for real (transaction=True): the second connection must see the data."""
import logging
import threading

import pytest
from django.db import connection, connections, transaction

from iris_portal.commit_behind import CommitBehind
from orders.intake.csv import job as job_module
from orders.intake.csv.job import import_job_create, import_job_steps
from orders.models import ImportJob, ImportSource, ImportStatus, Order, OrderEvent
from organizations.models import Organization, Site
from patients.models import Patient
from tests.factories import OrganizationFactory, SiteFactory

from .import_support import HEADER, csv_bytes, row

pytestmark = pytest.mark.django_db(transaction=True)

CONTROL_HEADER = [*HEADER, "OrderControlCode"]


@pytest.fixture(autouse=True)
def _small_chunks(settings):
    settings.IRIS_IMPORT_CHUNK_ROWS = 2


def _org(name: str) -> Organization:
    org = OrganizationFactory(name=name, evaluation_types=["DR", "AMD"])
    SiteFactory(organization=org, local_id="PC1234", state="FL")
    return org


def _rows():
    """Chunks of two rows (rows 2-3, 4-5, ...) that name each other's patients and orders."""
    return [
        [*row("O1", "M1"), "NW"], [*row("O2", "M2"), "NW"],
        [*row("O3", "M1"), "NW"], [*row("O4", "M3"), "NW"],         # M1 again: the new DR order cancels O1 (R6)
        [*row("O5", "M4"), "NW"], [*row("O2", "M2"), "NW"],         # nothing of the chunk before; O2 again: duplicate
        [*row("O5", "M4"), "CA"], [*row("O6", "M3", types="AMD"), "NW"],  # cancel O5 (one by one, through the service)
        [*row("O7", "M5", site="NOPE"), "NW"], [*row("O8", "M6"), "NW"],  # an error; a new patient
        [*row("O9", "M6"), "NW"],                                    # M6 again: cancels O8
    ]


def _run(org: Organization, *, overlap: bool) -> ImportJob:
    job = import_job_create(organization=org, content=csv_bytes(_rows(), CONTROL_HEADER), name="o.csv",
                            source=ImportSource.COMMAND)
    for job in import_job_steps(job.pk, overlap=overlap):
        pass
    return ImportJob.objects.get(pk=job.pk)


def _outcome(org: Organization, job: ImportJob) -> dict:
    orders = {o.local_id: (o.status, o.patient.local_id, tuple(o.evaluation_types))
              for o in Order.objects.filter(organization=org).select_related("patient")}
    events = sorted((e.order.local_id if e.order else "", e.event_type, e.success)
                    for e in OrderEvent.objects.filter(organization=org).select_related("order"))
    errors = sorted(job.row_errors.values_list("row", "column", "message"))
    counts = (job.status, job.done_rows, job.created_count, job.updated_count, job.failed_rows)
    patients = sorted(Patient.objects.filter(organization=org).values_list("local_id", flat=True))
    return {"orders": orders, "events": events, "errors": errors, "counts": counts, "patients": patients}


@pytest.fixture
def slow_commits():
    """COMMITs that take a while (a deferred trigger on new orders), as with a large chunk's
    foreign-key checks: the next chunk is surely decided while the last one's COMMIT runs."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS "
                       "$$ BEGIN PERFORM pg_sleep(0.1); RETURN NULL; END $$")
        cursor.execute("CREATE CONSTRAINT TRIGGER test_slow_commit AFTER INSERT ON orders_order DEFERRABLE "
                       "INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit()")
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER test_slow_commit ON orders_order")
        cursor.execute("DROP FUNCTION test_slow_commit()")


def test_overlapped_commits_give_the_outcome_of_one_chunk_after_the_other(caplog, slow_commits):
    overlapped, serial = _org("Overlapped"), _org("Serial")
    assert CommitBehind().enabled  # the path under test is on (PostgreSQL, no atomic block around)
    with caplog.at_level(logging.INFO, logger="orders.services.order_batch"):
        got = _outcome(overlapped, _run(overlapped, overlap=True))
    # Chunks that name the previous chunk's patients or orders waited for its COMMIT: no bulk run
    # met its rows as a constraint race (the one-by-one replay would hide a wrong decision).
    assert not [r for r in caplog.records if "replaying one by one" in r.getMessage()]
    expected = _outcome(serial, _run(serial, overlap=False))
    assert got == expected
    assert got["counts"][0] == ImportStatus.DONE
    assert got["orders"]["O1"][0] == "cancelled" and got["orders"]["O5"][0] == "cancelled"
    assert got["orders"]["O8"][0] == "cancelled" and "O7" not in got["orders"]


def test_a_failed_commit_fails_the_job_and_the_chunk_after_it_is_not_kept(monkeypatch):
    org = _org("Failing")
    real = job_module._chunk_import

    def chunk_import(job, batch, plan, chunk):
        real(job, batch, plan, chunk)
        if chunk.rows[0].number == 4:  # the second chunk: a row its COMMIT refuses (deferred foreign key)
            with connection.cursor() as cursor:
                cursor.execute("INSERT INTO orders_orderexam (order_id, patient_id, evaluation_type, is_open) "
                               "VALUES (-1, -1, 'DR', false)")

    monkeypatch.setattr(job_module, "_chunk_import", chunk_import)
    home = connections["default"]
    job = _run(org, overlap=True)
    assert job.status == ImportStatus.FAILED and "IntegrityError" in job.message
    # The first chunk is in; the second's COMMIT failed; the third, built beside it, was rolled back.
    assert set(Order.objects.filter(organization=org).values_list("local_id", flat=True)) == {"O1", "O2"}
    assert connections["default"] is home and connection.get_autocommit() and not connection.in_atomic_block


def test_on_commit_hooks_run_in_this_thread_once_committed_and_the_connections_come_back():
    org = _org("Hooks")
    home = connections["default"]
    ran: list = []
    with CommitBehind() as commits:
        with commits.transaction(), transaction.atomic():  # the import's work runs in atomic blocks too
            Site.objects.create(organization=org, local_id="NEW1", name="New", state="FL")
            transaction.on_commit(lambda: ran.append(threading.get_ident()))
        spare = connections["default"]
        assert spare is not home  # the next unit goes to the other connection meanwhile
        assert ran == []  # the COMMIT may still run: its hooks wait for settle()
        commits.settle()
        assert ran == [threading.get_ident()]
        assert Site.objects.filter(local_id="NEW1").exists()  # seen from the other connection: committed
        with commits.transaction(), transaction.atomic():
            Site.objects.create(organization=org, local_id="NEW2", name="Newer", state="FL")
    assert connections["default"] is home and spare.connection is None  # the spare is closed
    assert Site.objects.filter(local_id="NEW2").exists()  # the block's end settled the last COMMIT


@pytest.mark.django_db(transaction=False)
def test_inside_an_atomic_block_each_unit_commits_in_place():
    """Tests and callers with a transaction of their own: the work must see their rows."""
    with transaction.atomic():
        commits = CommitBehind()
        assert not commits.enabled
        with commits:
            with commits.transaction():
                assert connection.in_atomic_block


def test_an_error_in_a_chunk_keeps_the_chunks_before_it_and_a_rerun_finishes(monkeypatch, slow_commits):
    """The chunk before the failing one is still committing when the error comes: it is kept
    (its COMMIT is waited for), the failing chunk is rolled back, and running the job again
    imports the rest without duplicating anything."""
    org = _org("Rerun")
    real = job_module._chunk_import

    def chunk_import(job, batch, plan, chunk):
        if chunk.rows[0].number == 6:  # the third chunk
            raise RuntimeError("disk")
        real(job, batch, plan, chunk)

    monkeypatch.setattr(job_module, "_chunk_import", chunk_import)
    job = _run(org, overlap=True)
    assert job.status == ImportStatus.FAILED and "RuntimeError" in job.message
    assert set(Order.objects.filter(organization=org).values_list("local_id", flat=True)) == {"O1", "O2", "O3", "O4"}
    monkeypatch.setattr(job_module, "_chunk_import", real)
    for job in import_job_steps(job.pk):
        pass
    serial = _org("Rerun, serial")
    assert _outcome(org, ImportJob.objects.get(pk=job.pk))["orders"] == _outcome(
        serial, _run(serial, overlap=False))["orders"]
