"""Celery tasks of the delivery app: they take ids and call services.

Report rendering (WeasyPrint) keeps a little memory per render, so workers are recycled:
``celery -A iris_portal worker --max-tasks-per-child 200`` (settings.CELERY_WORKER_MAX_TASKS_PER_CHILD)."""
from celery import shared_task

from delivery.results.services import result_generate, result_resend


@shared_task(autoretry_for=(OSError,), retry_backoff=10, retry_backoff_max=600, max_retries=6)
def result_generate_task(grading_id: int, result_code: str | None = None) -> int | None:
    result_set = result_generate(grading_id=grading_id, result_code=result_code)
    return result_set.pk if result_set else None


@shared_task(autoretry_for=(OSError,), retry_backoff=10, retry_backoff_max=600, max_retries=6)
def result_resend_task(order_id: int) -> int:
    return result_resend(order_id=order_id).pk
