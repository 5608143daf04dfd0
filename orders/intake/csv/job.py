"""Import jobs: keep the file, read it row by row, send each chunk of rows through the batch
order service, count and record row errors, and say how it went.

Each chunk (``IRIS_IMPORT_CHUNK_ROWS``, default 1,000 rows) is one transaction: its OrderRequests
are stored raw in the inbox first (R11), then processed; progress is visible after every chunk
(its COMMIT may finish while the next chunk is decided: iris_portal.commit_behind). Memory stays
flat: a few chunks are held at a time (the one being written, the next one being read by
iris_portal.ahead, the last one while it is freed). Running a job again (a lost worker, a fixed
site) re-reads the file; the order service's idempotency on order ids means nothing is created
twice."""
import datetime as dt
import hashlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice

import orjson
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone

from iris_portal.ahead import AheadWhileWaiting
from iris_portal.collector import collector_paused
from iris_portal.commit_behind import CommitBehind
from iris_portal.cpu_affinity import one_cpu

from ...models import (
    IMPORT_FINISHED_STATUSES, ImportJob, ImportMapping, ImportRowError, ImportSource, ImportStatus, InboundChannel,
)
from ...services.inbox import inbound_store
from ...services.order_batch import CREATED, FAILED, UPDATED, OrderBatch
from ...services.table_statistics import GrowthAnalyzer
from .mapping import FilePlan, plan_build
from .reader import FileRefused, Row, Table, table_open
from .redact import ssn_columns_drop

logger = logging.getLogger(__name__)

STALE_RUNNING = dt.timedelta(minutes=10)


def chunk_rows() -> int:
    return int(getattr(settings, "IRIS_IMPORT_CHUNK_ROWS", 1000))


def import_job_create(*, organization, name: str, content: File | bytes | None = None, source: str = ImportSource.PORTAL,
                      created_by=None, stored_name: str = "") -> ImportJob:
    """Keep the file and create its queued job. ``stored_name``: the file already lies in the
    default storage under that name (the drop folder); otherwise ``content`` is stored."""
    job = ImportJob(organization=organization, source=source, original_name=name[:255], created_by=created_by)
    if stored_name:
        job.file.name = stored_name
        with job.file.storage.open(stored_name, "rb") as fh:
            job.sha256, job.size = _digest(File(fh))
    else:
        upload = ContentFile(content, name=name) if isinstance(content, bytes) else content
        job.sha256, job.size = _digest(upload)
        job.file.save(name, upload, save=False)
    redacted = ssn_columns_drop(job.file.storage, job.file.name)
    if redacted:
        job.file.name, dropped = redacted
        job.warnings = [f"column '{header}' looks like a Social Security number: it was removed from the kept "
                        "file and is never imported" for header in dropped]
    job.duplicate_of = (ImportJob.objects.filter(organization=organization, sha256=job.sha256)
                        .order_by("created_at", "pk").first())
    job.save(force_insert=True)
    logger.info("import %s: stored %s bytes from %s (org %s)", job.pk, job.size, source, organization.pk)
    return job


def import_job_enqueue(job: ImportJob) -> None:
    """Run the job in a worker once the current transaction commits (eagerly without Redis)."""
    from ...tasks import import_job_run as task  # noqa: PLC0415 - tasks import this module

    job_id = job.pk
    transaction.on_commit(lambda: task.delay(job_id))


def import_job_run(job_id: int) -> ImportJob | None:
    """Run the job to its end (the Celery task, the commands); returns it as it ended."""
    for _ in import_job_steps(job_id):
        pass
    return ImportJob.objects.filter(pk=job_id).first()


def import_job_steps(job_id: int, *, overlap: bool = True) -> Iterator[ImportJob]:
    """Run the job, yielding it after the header is read and after each chunk (the portal's
    progress bar reads the same counters). A finished job is not run again.

    ``overlap``: each chunk's COMMIT finishes in the background while the next chunk is read and
    decided (iris_portal.commit_behind); the job's counters in the database may then trail the
    yielded job by one chunk for a moment. Without it, each chunk is committed before the yield."""
    job = _claim(job_id)
    if job is None:
        return
    try:
        try:
            table = table_open(lambda: job.file.storage.open(job.file.name, "rb"), job.original_name)
            plan = _plan(job, table)
        except FileRefused as exc:
            _finish(job, ImportStatus.REFUSED, message=f"File refused: {exc}")
            yield job
            return
        job.warnings = list(dict.fromkeys([*job.warnings, *table.warnings, *plan.warnings]))
        job.columns = [[column.header, column.target] for column in plan.columns]
        job.total_rows = table.count_rows()
        job.save(update_fields=["warnings", "columns", "total_rows", "updated_at"])
        yield job
        batch = OrderBatch(organization=job.organization, channel=InboundChannel.CSV,
                           sender=f"import #{job.pk} {job.original_name}", actor=job.created_by)
        statistics = GrowthAnalyzer()
        # The next chunks are read, mapped and parsed while PostgreSQL writes this one. The
        # cyclic collector stays off meanwhile (~100 objects a row, all freed by reference
        # counting; run now and then, it walked the chunks waiting in the queue: 30 us a row).
        # Each chunk's COMMIT (deferred foreign-key checks) runs while the next is decided. The
        # two Python threads share one core (they take turns anyway); PostgreSQL has the other.
        with collector_paused(), one_cpu(), CommitBehind(enabled=overlap) as commits, AheadWhileWaiting(
                lambda pause: _chunks(table, plan, job, pause), connections=commits.connections()) as chunks:
            batch.before_alone = commits.settle  # the order service's one-by-one path sees everything
            written: frozenset = frozenset()
            for chunk in chunks:
                if not chunk.keys.isdisjoint(written):
                    commits.settle()  # this chunk names patients or orders the previous one wrote
                with commits.transaction():
                    _chunk_import(job, batch, plan, chunk)
                    statistics.rows_written(len(chunk.rows))
                written = chunk.keys
                chunks.discard(chunk.release())  # freed by the producer, while PostgreSQL works
                yield job
        _finish(job, ImportStatus.DONE)
    except Exception as exc:  # noqa: BLE001 - the job must end in a state people can see
        logger.exception("import %s failed", job.pk)
        _finish(job, ImportStatus.FAILED,
                message=f"Internal error while importing ({type(exc).__name__}); the file is kept and the "
                        "import can be run again (rows already imported are not duplicated)")
    yield job


def import_jobs_stale() -> list[ImportJob]:
    """Jobs a lost task or worker left queued or running for longer than STALE_RUNNING."""
    cutoff = timezone.now() - STALE_RUNNING
    return list(ImportJob.objects.filter(status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING], updated_at__lt=cutoff))


def _claim(job_id: int) -> ImportJob | None:
    job = ImportJob.objects.select_related("organization", "created_by").filter(pk=job_id).first()
    if job is None or (job.status in IMPORT_FINISHED_STATUSES and job.status != ImportStatus.FAILED):
        return None
    now = timezone.now()
    if job.status == ImportStatus.RUNNING and job.updated_at > now - STALE_RUNNING:
        logger.info("import %s: already running", job.pk)
        return None
    fresh = {"status": ImportStatus.RUNNING, "started_at": now, "finished_at": None, "message": "", "done_rows": 0,
             "failed_rows": 0, "created_count": 0, "updated_count": 0, "updated_at": now}
    # Compare-and-set: of two tasks for one job (a re-queued stale job), one wins the claim.
    if not ImportJob.objects.filter(pk=job.pk, status=job.status, updated_at=job.updated_at).update(**fresh):
        return None
    for name, value in fresh.items():
        setattr(job, name, value)
    job.row_errors.all().delete()
    return job


def _plan(job: ImportJob, table: Table) -> FilePlan:
    mapping = ImportMapping.objects.filter(organization=job.organization).first()
    return plan_build(table.header, client_guid=str(job.organization.client_guid),
                      columns=mapping.columns if mapping else None, defaults=mapping.defaults if mapping else None)


@dataclass
class _Chunk:
    rows: list[Row] = field(default_factory=list)
    prepared: list = field(default_factory=list)  # the readable rows' requests, through OrderBatch.prepare
    body: str = ""  # the inbox text of the chunk's requests (R11)
    keys: frozenset = frozenset()  # the patient and order ids its requests name (_chunk_keys)

    def release(self) -> list:
        """The rows and requests, handed over once imported (the chunk object itself may still
        be held by the producer's frame while the caller yields)."""
        spent = [*self.rows, *self.prepared]
        self.rows, self.prepared, self.body = [], [], ""
        return spent


def _chunks(table: Table, plan: FilePlan, job: ImportJob, pause) -> Iterator[_Chunk]:
    """The file's chunks, read, mapped and parsed: pure Python, no database (it runs in the
    AheadWhileWaiting thread; ``pause`` between rows)."""
    size = chunk_rows()
    rows = table.rows()
    try:
        while True:
            chunk, items = _Chunk(), []
            for row in islice(rows, size):
                pause()
                chunk.rows.append(row)
                if not row.error:
                    request = plan.request(row.cells)
                    items.append({"row": row.number, "request": request})
                    chunk.prepared.append(OrderBatch.prepare(row.number, request))
            if not chunk.rows:
                return
            # Compact JSON, encoded by orjson: the standard library took ~8 us a row for this body
            # (a chunk is ~0.5 MB), orjson 0.4; the same JSON (non-ASCII kept as UTF-8, not \u-escaped).
            chunk.body = orjson.dumps({"import_job": job.pk, "file": job.original_name, "sha256": job.sha256,
                                       "rows": items}).decode()
            chunk.keys = _chunk_keys(chunk)
            yield chunk
    finally:
        rows.close()


def _chunk_keys(chunk: _Chunk) -> frozenset:
    """The patient and order ids the chunk's requests name."""
    keys = set()
    for item in chunk.prepared:
        request = item.request
        if request is not None:
            if request.patient is not None:
                keys.add(("patient", request.patient.local_id))
            if request.order is not None:
                keys.add(("order", request.order.local_id))
    return frozenset(keys)


def _chunk_import(job: ImportJob, batch: OrderBatch, plan: FilePlan, chunk: _Chunk) -> None:
    rows = chunk.rows
    cells = {row.number: row.cells for row in rows}
    with transaction.atomic():
        inbound = inbound_store(channel=InboundChannel.CSV, body=chunk.body, sender=batch.sender,
                                message_type="OrderRequest rows (CSV/XLSX)", organization=job.organization,
                                control_id=f"import-{job.pk}:rows-{rows[0].number}-{rows[-1].number}")
        results = batch.process_prepared(chunk.prepared, inbound=inbound) if chunk.prepared else []
        errors = [ImportRowError(job=job, row=row.number, column="", message=row.error) for row in rows if row.error]
        for result in results:
            for error in result.errors:
                column = plan.column_for(error.field, cells[result.key])
                errors.append(ImportRowError(job=job, row=result.key, column=column[:255],
                                             message=_message(error, column, plan)))
        ImportRowError.objects.bulk_create(errors, batch_size=1000)
        job.done_rows += len(rows)
        job.failed_rows += sum(1 for r in results if r.outcome == FAILED) + sum(1 for row in rows if row.error)
        job.created_count += sum(1 for r in results if r.outcome == CREATED)
        job.updated_count += sum(1 for r in results if r.outcome == UPDATED)
        job.total_rows = max(job.total_rows, job.done_rows)
        job.save(update_fields=["done_rows", "failed_rows", "created_count", "updated_count", "total_rows",
                                "updated_at"])


def _message(error, column: str, plan: FilePlan) -> str:
    if error.reason == "required" and column not in plan.header:
        return ("required, and the file has no column for it (add one, or set a default under "
                "Imports → Column mapping)")
    return error.reason


def _finish(job: ImportJob, status: str, *, message: str = "") -> None:
    job.status, job.message, job.finished_at = status, message, timezone.now()
    if status != ImportStatus.DONE:
        ImportRowError.objects.create(job=job, row=0, column="", message=message)
    else:
        job.total_rows = job.done_rows
    job.save(update_fields=["status", "message", "finished_at", "total_rows", "updated_at"])
    logger.info("import %s: %s (%s rows, %s failed)", job.pk, status, job.done_rows, job.failed_rows)
    if job.source == ImportSource.DROPFOLDER:
        from .dropfolder import dropfolder_settle

        dropfolder_settle(job)


def import_job_summary(job: ImportJob) -> dict:
    """SPEC section 8: ``{"created", "updated", "failed", "errors": [{"row", "column", "message"}]}``.
    ``updated`` counts rows that addressed an order that already existed: changes (XO),
    cancellations (CA), resends, and new-order rows recognised as duplicates (nothing changed)."""
    return {
        "created": job.created_count,
        "updated": job.updated_count,
        "failed": job.failed_rows,
        "errors": [{"row": row, "column": column, "message": message}
                   for row, column, message in job.row_errors.order_by("row", "id").values_list("row", "column", "message")
                   .iterator(chunk_size=2000)],
    }


def _digest(upload: File) -> tuple[str, int]:
    sha, size = hashlib.sha256(), 0
    upload.seek(0)
    for chunk in upload.chunks():
        sha.update(chunk)
        size += len(chunk)
    upload.seek(0)
    return sha.hexdigest(), size
