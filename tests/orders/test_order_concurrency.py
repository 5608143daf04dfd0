"""R5 under real concurrency: parallel NW submissions for one patient and evaluation type leave
exactly one open order (PostgreSQL in CI; SQLite serialises writers and must agree)."""
import threading

import pytest
from django.db import connection

from orders.models import Order, OrderExam, OrderStatus
from orders.services.order_request import order_request_process
from organizations.demo import seed_demo
from organizations.models import Organization
from patients.models import Patient

from .helpers import dumps, nw_request

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_parallel(bodies: list[dict]) -> list:
    barrier = threading.Barrier(len(bodies))
    outcomes: list = [None] * len(bodies)
    errors: list = []

    def worker(index: int, body: dict) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = order_request_process(body=dumps(body), channel="cli")
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, body)) for i, body in enumerate(bodies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return outcomes


@pytest.mark.parametrize("round_", range(3))
def test_parallel_new_orders_for_one_patient_leave_exactly_one_open_order(round_):
    seed_demo()
    demo = Organization.objects.get(name="Demo Health")
    bodies = [nw_request(demo, order_id=f"R{round_}-{i}", mrn=f"RACE{round_}") for i in range(8)]
    outcomes = run_in_parallel(bodies)
    assert all(outcome.success for outcome in outcomes), [o.error for o in outcomes if not o.success]
    assert Patient.objects.filter(organization=demo, local_id=f"RACE{round_}").count() == 1
    orders = Order.objects.filter(organization=demo, patient__local_id=f"RACE{round_}")
    assert orders.count() == 8
    assert orders.exclude(status=OrderStatus.CANCELLED).count() == 1
    assert OrderExam.objects.filter(order__in=orders, is_open=True).count() == 1


@pytest.mark.parametrize("round_", range(3))
def test_parallel_duplicates_of_one_order_create_it_once(round_):
    seed_demo()
    demo = Organization.objects.get(name="Demo Health")
    outcomes = run_in_parallel([nw_request(demo, order_id="DUP", mrn="DUPMRN") for _ in range(6)])
    assert all(outcome.success for outcome in outcomes), [o.error for o in outcomes if not o.success]
    assert Order.objects.filter(organization=demo, local_id="DUP").count() == 1
    assert len({outcome.order.pk for outcome in outcomes}) == 1
