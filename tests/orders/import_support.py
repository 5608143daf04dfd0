"""Shared helpers of the CSV/XLSX import tests (tests/orders/test_import_*.py)."""
import csv
import io
from contextlib import contextmanager

import openpyxl

from iris_portal.celery import app as celery_app
from orders.intake.csv.job import import_job_create, import_job_run, import_job_summary
from orders.models import ImportSource

HEADER = ["SiteLocalId", "OrderLocalId", "EvaluationType", "PatientLocalId", "PatientFirstName",
          "PatientLastName", "PatientDob", "PatientBirthGender"]


def row(order_id="ORD-1", mrn="MRN-1", *, site="PC1234", types="DR", first="Ada", last="Lovelace",
        dob="12/10/1955", gender="F") -> list[str]:
    return [site, order_id, types, mrn, first, last, dob, gender]


def csv_bytes(rows, header=HEADER, *, encoding="utf-8", newline="\r\n", delimiter=",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=newline, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def xlsx_bytes(rows, header=HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(header)
    for values in rows:
        sheet.append(values)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def run_import(organization, content: bytes, name="orders.csv", **kwargs):
    """Store and run an import; returns (job, summary)."""
    job = import_job_create(organization=organization, content=content, name=name,
                            source=kwargs.pop("source", ImportSource.COMMAND), **kwargs)
    job = import_job_run(job.pk)
    job.refresh_from_db()
    return job, import_job_summary(job)


@contextmanager
def celery_queue():
    """Tasks are published to the configured broker (Redis with REDIS_URL, else Celery's
    in-memory transport) instead of running eagerly; ``take(n)`` reads them back as a worker
    would: [(task name, args)]."""
    conf = celery_app.conf
    saved = conf.task_always_eager
    conf.task_always_eager = False
    with celery_app.connection_for_write() as connection:
        queue = connection.SimpleQueue("celery")
        queue.clear()

        def take(count: int) -> list[tuple[str, list]]:
            tasks = []
            for _ in range(count):
                message = queue.get(timeout=10)
                message.ack()
                tasks.append((message.headers["task"], list(message.payload[0])))
            try:
                extra = queue.get(block=False)
            except queue.Empty:
                return tasks
            raise AssertionError(f"more tasks were queued than expected: {extra.headers['task']}")

        try:
            yield take
        finally:
            conf.task_always_eager = saved
            queue.close()
