"""Celery tasks of the orders app. Tasks take ids and call services (enqueued on commit)."""
from celery import shared_task
from django.core.cache import cache

from .intake.csv.dropfolder import dropfolder_claim_all
from .intake.csv.job import import_job_enqueue, import_jobs_stale
from .intake.csv.job import import_job_run as _import_job_run


@shared_task(acks_late=True)
def import_job_run(job_id: int) -> None:
    """Import one stored CSV/XLSX file (orders/intake/csv)."""
    _import_job_run(job_id)


@shared_task
def import_dropfolder_scan() -> int:
    """Periodic (Celery beat): claim new drop-folder files and queue their imports, and re-queue
    imports a lost worker left behind. One scan at a time (a cache lock)."""
    if not cache.add("orders:import_dropfolder_scan", "1", timeout=300):
        return 0
    try:
        jobs = dropfolder_claim_all() + import_jobs_stale()
        for job in jobs:
            import_job_enqueue(job)
        return len(jobs)
    finally:
        cache.delete("orders:import_dropfolder_scan")
