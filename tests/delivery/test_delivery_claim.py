"""Nothing is sent twice concurrently: workers racing for the same delivery row (committed data,
real connections; PostgreSQL in CI) send it once."""
import threading

import pytest
from django.db import connection

from delivery.models import AttemptOutcome, Delivery, DeliveryState
from delivery.services import deliveries_create, deliveries_run_due, delivery_send

from .delivery_setup import endpoint_make, result_set_make

pytestmark = pytest.mark.django_db(transaction=True)
WORKERS = 6


def race(target, count=WORKERS):
    """Run ``target`` in ``count`` threads released together; their results."""
    barrier, results = threading.Barrier(count), []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(target())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(results) == count
    return results


@pytest.fixture
def out(tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


@pytest.fixture
def delivery(out, monkeypatch):
    # The tasks are lost (as with a broker restart): only the racing workers below send.
    monkeypatch.setattr("delivery.services.deliveries_enqueue", lambda ids, **kw: None)
    result_set = result_set_make(local_id="ORD-RACE")
    # "suffix" keeps every file written, so a second send would show as ORD-RACE-2.pdf.
    endpoint_make(result_set.organization, "file", {"base_folder": str(out),
                                                    "file_name_template": "{orderLocalId}.pdf", "if_exists": "suffix"})
    [row] = deliveries_create(result_set=result_set)
    return row


def test_racing_workers_send_a_delivery_once(delivery, out):
    outcomes = race(lambda: delivery_send(delivery_id=delivery.pk))
    sent = [outcome for outcome in outcomes if outcome is not None]
    assert len(sent) == 1 and sent[0].state == DeliveryState.DELIVERED
    assert [path.name for path in out.iterdir()] == ["ORD-RACE.pdf"]
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert list(delivery.attempt_log.values_list("outcome", flat=True)) == [AttemptOutcome.SUCCESS]


def test_racing_sweepers_send_each_due_delivery_once(delivery, out):
    counts = race(lambda: deliveries_run_due(), count=4)
    assert sum(c.get("delivered", 0) for c in counts) == 1
    assert Delivery.objects.get().state == DeliveryState.DELIVERED
    assert len(list(out.iterdir())) == 1
