"""Shared setup of the delivery tests (tests/delivery/test_delivery_*.py): a stored result set
made through the grading and results services, endpoints saved through the service, and a way
to make a delivery due now instead of waiting for its backoff."""
from django.utils import timezone

from delivery.models import Delivery, Endpoint, ResultSet
from delivery.results.services import result_generate
from delivery.services import endpoint_save

from .factories import graded_order


def result_set_make(**order_fields) -> ResultSet:
    grading = graded_order(**order_fields)
    return result_generate(grading_id=grading.pk)


def endpoint_make(organization, kind: str, config: dict | None = None, **fields) -> Endpoint:
    fields.setdefault("name", f"{kind} endpoint")
    return endpoint_save(endpoint=Endpoint(organization=organization, kind=kind, **fields), config=config or {})


def due_now(delivery: Delivery) -> Delivery:
    """Skip the backoff wait (what the clock would do)."""
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    delivery.refresh_from_db()
    return delivery
