"""Import jobs end to end: good rows in, bad rows reported with row/column/reason, the file
kept, idempotent re-import, re-exports recognised, the command's JSON line, the error report."""
import csv
import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from orders.intake.csv.job import import_job_create, import_job_run
from orders.intake.csv.report import error_report_lines
from orders.models import (
    ImportJob, ImportMapping, ImportSource, ImportStatus, InboundMessage, Order, OrderEvent, OrderStatus,
)
from patients.models import Patient

from .import_support import HEADER, csv_bytes, row, run_import, xlsx_bytes

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _small_chunks(settings):
    settings.IRIS_IMPORT_CHUNK_ROWS = 2  # several chunks even in small files


def test_good_rows_go_in_and_bad_rows_are_reported_with_row_column_and_reason(demo):
    data = csv_bytes([
        row("A", "M1"),
        row("B", "M2", dob="31/12/1960"),          # row 3: not M/D/YYYY
        row("C", "M3", site="NOPE"),               # row 4: unknown site (a rule of the service)
        row("D", "M4", gender="Q"),                # row 5: not a gender code
        row("E", "M5", first=""),                  # row 6: required
        row("F", "M6", types="DR;AMD"),
    ])
    job, summary = run_import(demo, data)
    assert job.status == ImportStatus.DONE
    assert (summary["created"], summary["updated"], summary["failed"]) == (2, 0, 4)
    assert set(Order.objects.filter(organization=demo).values_list("local_id", flat=True)) == {"A", "F"}
    assert Order.objects.get(local_id="F").evaluation_types == ["DR", "AMD"]
    errors = {(e["row"], e["column"]) : e["message"] for e in summary["errors"]}
    assert "is not a valid date" in errors[(3, "PatientDob")]
    assert errors[(4, "SiteLocalId")] == "unknown site 'NOPE'"
    assert "'Q' is not a valid gender" in errors[(5, "PatientBirthGender")]
    assert errors[(6, "PatientFirstName")] == "required"
    assert (job.total_rows, job.done_rows, job.failed_rows) == (6, 6, 4)
    assert job.file.storage.exists(job.file.name)  # the file is kept


def test_the_inbox_chunk_keeps_names_as_written(demo):
    """The chunk's JSON (orjson) keeps non-ASCII text as UTF-8 and reads back to the same requests."""
    run_import(demo, csv_bytes([row("A", "M1", first="José", last="Müller-Ødegård")]))
    (chunk,) = InboundMessage.objects.filter(channel="csv", organization=demo)
    assert "José" in chunk.body and "Müller-Ødegård" in chunk.body
    (item,) = json.loads(chunk.body)["rows"]
    assert (item["request"]["Patient"]["Name"]["First"], item["request"]["Patient"]["Name"]["Last"]) == \
        ("José", "Müller-Ødegård")


def test_every_row_is_stored_raw_in_the_inbox_by_chunk(demo):
    job, _ = run_import(demo, csv_bytes([row("A", "M1"), row("B", "M2"), row("C", "M3", dob="x")]))
    chunks = InboundMessage.objects.filter(channel="csv", organization=demo).order_by("pk")
    assert [m.control_id for m in chunks] == [f"import-{job.pk}:rows-2-3", f"import-{job.pk}:rows-4-4"]
    stored = [item for message in chunks for item in json.loads(message.body)["rows"]]
    assert [(item["row"], item["request"]["Order"]["LocalId"]) for item in stored] == [(2, "A"), (3, "B"), (4, "C")]
    assert chunks[1].status == "rejected" and "1 of 1 requests rejected" in chunks[1].error
    # Each row's events are on the order timeline, linked to its raw chunk.
    receipt = OrderEvent.objects.get(order__local_id="A", event_type="OrderCreationReceipt")
    assert receipt.inbound_message == chunks[0] and receipt.success
    rejection = OrderEvent.objects.get(inbound_message=chunks[1])
    assert not rejection.success and "Patient.Dob" in rejection.error_message


def test_the_same_file_twice_creates_nothing_new(demo):
    data = csv_bytes([row("A", "M1"), row("B", "M2"), row("C", "M3", dob="bad")])
    first, one = run_import(demo, data)
    counts = (Order.objects.count(), Patient.objects.count())
    second, two = run_import(demo, data)
    assert (one["created"], one["updated"], one["failed"]) == (2, 0, 1)
    assert (two["created"], two["updated"], two["failed"]) == (0, 2, 1)  # duplicates count as updated
    assert (Order.objects.count(), Patient.objects.count()) == counts
    assert second.sha256 == first.sha256 and second.duplicate_of == first
    assert two["errors"] == one["errors"]


def test_a_re_export_in_another_layout_is_recognised_as_duplicates(demo):
    header = ["SiteLocalId", "PatientLocalId", "EvaluationType", "OrderScheduledTime", "PatientFirstName",
              "PatientLastName", "PatientDob"]
    first = [["PC1234", "M1", "DR", "3/4/2026 10:30", "Ada", "Lovelace", "12/10/1955"],
             ["PC1234", "M2", "AMD", "3/4/2026 11:00", "Bob", "Byron", "1/2/1960"]]
    _, one = run_import(demo, csv_bytes(first, header))
    # The customer's system exports the same orders again: columns reordered, ISO dates, codes as ids,
    # semicolons, a BOM and LF line ends. No order id column: the derived ids must match.
    reordered = [header[i] for i in (6, 5, 4, 3, 2, 1, 0)]
    again = [["1955-12-10", "Lovelace", "Ada", "2026-03-04T10:30:00", "1", "M1", "PC1234"],
             ["1960-01-02", "Byron", "Bob", "2026-03-04 11:00", "7", "M2", "PC1234"]]
    data = b"\xef\xbb\xbf" + csv_bytes(again, reordered, newline="\n", delimiter=";")
    _, two = run_import(demo, data)
    assert (one["created"], two["created"], two["updated"], two["failed"]) == (2, 0, 2, 0)
    assert Order.objects.filter(organization=demo).count() == 2


def test_xlsx_import_with_date_cells_and_numbers(demo):
    rows = [["PC1234", "X1", "DR", 1001, "Ada", "Lovelace", dt.datetime(1960, 1, 2), "F"]]
    _, summary = run_import(demo, xlsx_bytes(rows), name="orders.xlsx")
    assert summary["created"] == 1, summary
    patient = Patient.objects.get(local_id="1001")  # an Excel number, without ".0"
    assert patient.dob == dt.date(1960, 1, 2)


def test_r6_in_one_file_a_later_order_cancels_the_earlier_open_one(demo):
    _, summary = run_import(demo, csv_bytes([row("A", "M1"), row("B", "M1"), row("C", "M1", types="AMD")]))
    assert summary["created"] == 3
    assert dict(Order.objects.values_list("local_id", "status")) == {
        "A": OrderStatus.CANCELLED, "B": OrderStatus.AWAITING_IMAGES, "C": OrderStatus.AWAITING_IMAGES}
    cancelled = OrderEvent.objects.get(order__local_id="A", event_type="OrderCancelled")
    assert "in favour of the new order 'B'" in cancelled.payload["Warnings"][0]


def test_change_and_cancel_rows_go_through_the_order_service(demo):
    run_import(demo, csv_bytes([row("A", "M1"), row("B", "M2")]))
    header = ["OrderControlCode", "OrderLocalId", "SiteLocalId", "PatientLocalId", "PatientLastName"]
    data = csv_bytes([["XO", "A", "PC1234", "M1", "Byron"], ["CA", "B", "PC1234", "", ""], ["CA", "ZZZ", "", "", ""]],
                     header)
    _, summary = run_import(demo, data)
    assert (summary["created"], summary["updated"], summary["failed"]) == (0, 2, 1)
    assert Patient.objects.get(local_id="M1").last_name == "Byron"
    assert Order.objects.get(local_id="B").status == OrderStatus.CANCELLED
    assert summary["errors"] == [{"row": 4, "column": "OrderLocalId", "message": "no order 'ZZZ' in this organization"}]


def test_the_organizations_mapping_and_defaults_are_used(demo):
    ImportMapping.objects.create(organization=demo, columns={"mrn": "Patient.LocalId", "order": "Order.LocalId",
                                                             "first": "Patient.Name.First", "last": "Patient.Name.Last",
                                                             "born": "Patient.Dob"},
                                 defaults={"Order.EvaluationTypes": "DR", "Site.LocalId": "TX200"})
    data = csv_bytes([["M1", "O1", "Ada", "Lovelace", "1/2/1960"]], ["MRN", "Order", "First", "Last", "Born"])
    _, summary = run_import(demo, data)
    assert summary["created"] == 1, summary
    order = Order.objects.get(local_id="O1")
    assert (order.site.local_id, order.state, order.evaluation_types) == ("TX200", "TX", ["DR"])


def test_a_file_that_is_not_a_table_is_refused_and_kept(demo):
    job, summary = run_import(demo, b"%PDF-1.4 this is a report, not orders", name="report.pdf")
    assert job.status == ImportStatus.REFUSED and "PDF document" in job.message
    assert summary == {"created": 0, "updated": 0, "failed": 0,
                       "errors": [{"row": 0, "column": "", "message": job.message}]}
    assert job.file.storage.open(job.file.name).read().startswith(b"%PDF")


def test_an_internal_error_fails_the_job_keeps_the_file_and_a_rerun_finishes(demo, monkeypatch):
    import orders.intake.csv.job as job_module

    job = import_job_create(organization=demo, content=csv_bytes([row("A", "M1")]), name="o.csv",
                            source=ImportSource.COMMAND)
    real = job_module._chunk_import
    monkeypatch.setattr(job_module, "_chunk_import", lambda *a: (_ for _ in ()).throw(RuntimeError("disk")))
    failed = import_job_run(job.pk)
    assert failed.status == ImportStatus.FAILED and "RuntimeError" in failed.message
    monkeypatch.setattr(job_module, "_chunk_import", real)
    done = import_job_run(job.pk)
    assert done.status == ImportStatus.DONE and done.created_count == 1 and done.row_errors.count() == 0


def test_an_error_while_reading_ahead_fails_the_job_after_the_chunks_before_it(demo, monkeypatch):
    """The next chunks are read and parsed in a background thread: its errors end the job as
    any other internal error does, after the chunks already committed."""
    from orders.services.order_batch import OrderBatch

    real = OrderBatch.prepare

    def prepare(key, body):
        if key == 4:  # the second chunk (two rows a chunk in these tests)
            raise RuntimeError("unreadable")
        return real(key, body)

    monkeypatch.setattr(OrderBatch, "prepare", staticmethod(prepare))
    job = import_job_create(organization=demo, content=csv_bytes([row("A", "M1"), row("B", "M2"), row("C", "M3")]),
                            name="o.csv", source=ImportSource.COMMAND)
    failed = import_job_run(job.pk)
    assert failed.status == ImportStatus.FAILED and "RuntimeError" in failed.message
    assert set(Order.objects.filter(organization=demo).values_list("local_id", flat=True)) == {"A", "B"}
    assert failed.done_rows == 2


def test_a_finished_job_is_not_run_twice(demo):
    job, _ = run_import(demo, csv_bytes([row("A", "M1")]))
    before = InboundMessage.objects.count()
    assert import_job_run(job.pk).status == ImportStatus.DONE
    assert InboundMessage.objects.count() == before


def test_the_error_report_has_the_original_row_and_the_error_columns(demo):
    header = HEADER + ["SSN"]
    rows = [row("A", "M1") + ["111-22-3333"], row("B", "M2", dob="bad", gender="Q") + ["444-55-6666"],
            row("C", "M3", types="") + ["777-88-9999"]]
    job, _ = run_import(demo, csv_bytes(rows, header))
    lines = list(csv.reader(io.StringIO("".join(error_report_lines(job)))))
    assert lines[0] == HEADER + ["ImportRow", "ImportErrorColumn", "ImportError"]  # no SSN column (R13)
    assert lines[1][:8] == row("B", "M2", dob="bad", gender="Q")
    assert lines[1][8:10] == ["3", "PatientDob; PatientBirthGender"]
    assert "PatientDob: 'bad' is not a recognised date" in lines[1][10]
    assert lines[2][8:10] == ["4", "EvaluationType"] and len(lines) == 3
    assert any("'SSN' looks like a Social Security number" in warning for warning in job.warnings)
    assert not any("111-22-3333" in m.body or "444-55" in m.body for m in InboundMessage.objects.all())


def test_the_corrected_error_report_can_be_uploaded_again(demo):
    job, _ = run_import(demo, csv_bytes([row("A", "M1"), row("B", "M2", dob="31/12/1960")]))
    report = list(csv.reader(io.StringIO("".join(error_report_lines(job)))))
    report[1][HEADER.index("PatientDob")] = "12/31/1960"
    out = io.StringIO()
    csv.writer(out).writerows(report)
    again, summary = run_import(demo, out.getvalue().encode())
    assert (summary["created"], summary["failed"]) == (1, 0) and not again.warnings


def test_the_command_prints_one_json_line(demo, tmp_path, capsys):
    path = tmp_path / "orders.csv"
    path.write_bytes(csv_bytes([row("A", "M1"), row("B", "M2", dob="bad")]))
    call_command("import_orders", "--client-guid", str(demo.client_guid).upper(), str(path))
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1
    summary = json.loads(lines[0])
    assert list(summary) == ["created", "updated", "failed", "errors"]
    assert (summary["created"], summary["updated"], summary["failed"]) == (1, 0, 1)
    assert summary["errors"][0]["row"] == 3 and summary["errors"][0]["column"] == "PatientDob"
    assert ImportJob.objects.get().source == ImportSource.COMMAND


def test_the_command_exits_1_on_a_refused_file_and_on_an_unknown_guid(demo, tmp_path, capsys):
    from django.core.management.base import CommandError

    path = tmp_path / "notes.txt"
    path.write_bytes(b"nothing tabular here\n")
    with pytest.raises(SystemExit) as exited:
        call_command("import_orders", "--client-guid", str(demo.client_guid), str(path))
    assert exited.value.code == 1
    assert "no column separator" in json.loads(capsys.readouterr().out)["errors"][0]["message"]
    with pytest.raises(CommandError, match="no active organization"):
        call_command("import_orders", "--client-guid", "00000000-0000-4000-8000-00000000abcd", str(path))


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_a_social_security_column_never_reaches_storage(demo, kind):
    header = ["PatientSSN"] + HEADER
    rows = [["111-22-3333"] + row("A", "M1"), ["444-55-6666"] + row("B", "M2", dob="bad")]
    data = csv_bytes(rows, header).replace(b"\r\n", b"\r\n\r\n", 1) if kind == "csv" else xlsx_bytes(rows, header)
    job, summary = run_import(demo, data, name=f"orders.{kind}")
    kept = job.file.storage.open(job.file.name).read()
    assert b"111-22-3333" not in kept and b"444-55" not in kept and b"PatientSSN" not in kept
    assert job.file.name.endswith(".redacted.csv") and job.original_name == f"orders.{kind}"
    assert summary["created"] == 1
    assert summary["errors"][0]["row"] == (4 if kind == "csv" else 3)  # row numbers as in the file sent
    assert any("removed from the kept file" in warning for warning in job.warnings)
    report = "".join(error_report_lines(job))
    assert "444-55" not in report and report.splitlines()[1].startswith("PC1234,B,")


def test_two_tasks_for_one_job_run_it_once(demo):
    from orders.intake.csv.job import import_job_steps

    job = import_job_create(organization=demo, content=csv_bytes([row("A", "M1")]), name="o.csv",
                            source=ImportSource.COMMAND)
    first, second = import_job_steps(job.pk), import_job_steps(job.pk)
    next(first)  # the first task claimed the job and read its header
    assert list(second) == []  # the second finds it running and leaves it
    assert [step.status for step in first][-1] == ImportStatus.DONE
    job.refresh_from_db()
    assert (job.done_rows, job.created_count) == (1, 1)
