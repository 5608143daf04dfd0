"""The watched drop folder: new files are imported, then moved to processed/ or failed/ with
their report beside them (orders/intake/csv/dropfolder.py, tasks, import_dropfolder)."""
import io
import json
import os
import time

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command

from orders.models import ImportJob, ImportSource, ImportStatus, Order
from orders.tasks import import_dropfolder_scan

from orders.intake.csv.job import import_job_run

from .import_support import celery_queue, csv_bytes, row

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_settle_time(settings):
    settings.IRIS_DROPFOLDER_SETTLE_SECONDS = 0


def drop(org, name, content: bytes, *, upper=False) -> str:
    guid = str(org.client_guid).upper() if upper else str(org.client_guid)
    return default_storage.save(f"dropbox/{guid}/incoming/{name}", ContentFile(content))


def files(org, folder, *, upper=False):
    guid = str(org.client_guid).upper() if upper else str(org.client_guid)
    try:
        return sorted(default_storage.listdir(f"dropbox/{guid}/{folder}")[1])
    except FileNotFoundError:
        return []


def test_new_files_are_imported_and_moved_with_their_report(demo, capsys):
    drop(demo, "good.csv", csv_bytes([row("A", "M1"), row("B", "M2")]))
    drop(demo, "mixed.csv", csv_bytes([row("C", "M3"), row("D", "M4", dob="bad")]))
    drop(demo, "junk.pdf", b"%PDF-1.4 not orders")
    drop(demo, "allbad.csv", csv_bytes([row("E", "M5", site="NOPE")]))
    drop(demo, ".hidden.csv", csv_bytes([row("F", "M6")]))
    drop(demo, "upload.csv.part", csv_bytes([row("G", "M7")]))

    call_command("import_dropfolder")

    lines = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert {(l["file"], l["status"], l["created"], l["failed"]) for l in lines} == {
        ("good.csv", "done", 2, 0), ("mixed.csv", "done", 1, 1), ("junk.pdf", "refused", 0, 0),
        ("allbad.csv", "done", 0, 1)}
    assert files(demo, "processed") == ["good.csv", "good.csv.report.json", "mixed.csv", "mixed.csv.errors.csv",
                                        "mixed.csv.report.json"]
    assert files(demo, "failed") == ["allbad.csv", "allbad.csv.errors.csv", "allbad.csv.report.json",
                                     "junk.pdf", "junk.pdf.errors.csv", "junk.pdf.report.json"]
    assert files(demo, "incoming") == [".hidden.csv", "upload.csv.part"]  # never taken
    assert files(demo, "processing") == []
    report = json.loads(default_storage.open(f"dropbox/{demo.client_guid}/processed/mixed.csv.report.json").read())
    assert (report["created"], report["failed"], report["status"]) == (1, 1, "done")
    assert report["errors"][0]["row"] == 3 and report["errors"][0]["column"] == "PatientDob"
    errors_csv = default_storage.open(f"dropbox/{demo.client_guid}/processed/mixed.csv.errors.csv").read().decode("utf-8-sig")
    assert "M4" in errors_csv and "ImportError" in errors_csv
    junk = ImportJob.objects.get(original_name="junk.pdf")
    assert junk.source == ImportSource.DROPFOLDER and junk.status == ImportStatus.REFUSED
    assert junk.file.name.endswith("/failed/junk.pdf") and junk.file.storage.exists(junk.file.name)  # kept
    assert set(Order.objects.values_list("local_id", flat=True)) == {"A", "B", "C"}


def test_the_periodic_task_claims_and_queues_the_imports(demo, django_capture_on_commit_callbacks):
    drop(demo, "orders.csv", csv_bytes([row("A", "M1")]), upper=True)  # a folder named in upper case works too
    with celery_queue() as take:
        with django_capture_on_commit_callbacks(execute=True):
            assert import_dropfolder_scan() == 1
        job = ImportJob.objects.get()
        assert take(1) == [("orders.tasks.import_job_run", [job.pk])]
    assert files(demo, "processing", upper=True) and job.status == "queued"
    import_job_run(job.pk)  # the worker
    assert files(demo, "processed", upper=True) == ["orders.csv", "orders.csv.report.json"]
    assert Order.objects.filter(local_id="A").exists()
    with celery_queue() as take:
        assert import_dropfolder_scan() == 0 and take(0) == []  # nothing new


def test_the_same_file_dropped_twice_creates_nothing_new(demo):
    data = csv_bytes([row("A", "M1")])
    drop(demo, "orders.csv", data)
    call_command("import_dropfolder", stdout=io.StringIO())
    drop(demo, "orders.csv", data)
    call_command("import_dropfolder", stdout=io.StringIO())
    second = ImportJob.objects.order_by("pk").last()
    assert (second.created_count, second.updated_count, second.duplicate_of is not None) == (0, 1, True)
    assert Order.objects.count() == 1
    processed = files(demo, "processed")
    assert len([name for name in processed if name.endswith(".csv")]) == 2  # both kept, under distinct names


def test_a_file_still_being_written_is_left_for_the_next_scan(demo, settings):
    settings.IRIS_DROPFOLDER_SETTLE_SECONDS = 60
    name = drop(demo, "orders.csv", csv_bytes([row("A", "M1")]))
    with celery_queue() as take:
        assert import_dropfolder_scan() == 0 and files(demo, "incoming") == ["orders.csv"]
        past = time.time() - 120
        os.utime(default_storage.path(name), (past, past))
        assert import_dropfolder_scan() == 1 and files(demo, "processing") and take(0) == []  # queued on commit


def test_another_organizations_folder_is_its_own(demo):
    from tests.factories import OrganizationFactory

    other = OrganizationFactory()
    drop(other, "orders.csv", csv_bytes([row("A", "M1")]))  # Demo's site PC1234 is not the other's
    call_command("import_dropfolder", stdout=io.StringIO())
    job = ImportJob.objects.get()
    assert job.organization == other and job.failed_rows == 1 and files(demo, "processed") == []
    assert not Order.objects.exists()
