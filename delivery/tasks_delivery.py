"""Celery tasks of result delivery: they take ids and call services (delivery/services.py).
A task is only a nudge; the delivery row decides whether anything is sent."""
from celery import shared_task

from .services import delivery_send, deliveries_due


@shared_task(ignore_result=True)
def delivery_send_task(delivery_id: int) -> str | None:
    outcome = delivery_send(delivery_id=delivery_id)
    return outcome.state if outcome else None


@shared_task(ignore_result=True)
def deliveries_due_task() -> int:
    """Periodic sweeper (celery beat): re-enqueue due and stuck deliveries."""
    return len(deliveries_due())
