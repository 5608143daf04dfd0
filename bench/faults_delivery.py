"""Delivery under faults: grade --count orders (default 200) with an SFTP endpoint; once a quarter
are delivered the SFTP server goes down for --outage seconds (default 120) and, a quarter into the
outage, the Celery worker is killed (SIGKILL, pool processes too) and restarted; celery beat runs the sweeper. Then count: every result must be in
the SFTP folder exactly once (the endpoint uses ``if_exists: suffix``, so a second send would
leave ``<order>-2.pdf``), every delivery row delivered with exactly one successful attempt, and
the attempts logged. Retry and claim times are shortened (delivery_harness.SPEED_ENV).

    .venv/bin/python bench/faults_delivery.py [--count 200] [--outage 120]
"""
import argparse
import collections
import signal
import tempfile
import time
from pathlib import Path

from delivery_harness import (
    beat_start, django_ready, grade, orders_ready, organization_with_sftp_endpoint, sftp_start, stop, wait_until,
    worker_start,
)

from _setup import machine


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--outage", type=float, default=120)
    parser.add_argument("--timeout", type=float, default=900)
    args = parser.parse_args()

    django_ready()
    from django.db.models import Count, Q

    from delivery.models import AttemptOutcome, Delivery, DeliveryAttempt, DeliveryState, Endpoint, ResultSet

    root = Path(tempfile.mkdtemp(prefix="iris-delivery-sftp-"))
    server = sftp_start(root)
    organization, site = organization_with_sftp_endpoint(server)
    endpoint = Endpoint.objects.get(organization=organization)
    endpoint.config = {**endpoint.config, "if_exists": "suffix"}
    endpoint.save()
    orders = orders_ready(site, args.count, "FLT")
    workers = [worker_start()]
    beat = beat_start(root)
    started = time.monotonic()

    def note(text: str) -> None:
        print(f"{time.monotonic() - started:6.1f}s {text}", flush=True)

    def delivered() -> int:
        return Delivery.objects.filter(organization=organization, state=DeliveryState.DELIVERED).count()

    try:
        port = server.port
        for order in orders:
            grade(order)
        note(f"{len(orders)} orders graded")
        wait_until(lambda: delivered() >= args.count // 4, args.timeout, 0.2)
        server.stop()
        outage_started = time.monotonic()
        note(f"SFTP server down ({delivered()} delivered)")
        wait_until(lambda: time.monotonic() - outage_started >= args.outage / 4, args.outage, 0.5)
        note(f"killing the worker (SIGKILL) with {ResultSet.objects.filter(organization=organization).count()} "
             f"result sets stored, {delivered()} delivered")
        stop(workers[-1], signal.SIGKILL)
        workers.append(worker_start())
        note("worker restarted")
        wait_until(lambda: time.monotonic() - outage_started >= args.outage, args.outage + 5, 0.5)
        server.start(port)
        note(f"SFTP server up again ({delivered()} delivered)")
        done = wait_until(lambda: delivered() >= args.count, args.timeout, 0.5)
        note("every delivery delivered" if done else "timed out waiting for deliveries")
        wait_until(lambda: False, 5, 1)  # let any duplicate send (there should be none) land before counting
    finally:
        for process in [*workers, beat]:
            stop(process)
        server.shutdown()

    files = sorted(path.name for path in (root / "upload").iterdir() if not path.name.startswith("."))
    expected = {f"{order.local_id}.pdf" for order in orders}
    names = collections.Counter(name.split("-")[0].removesuffix(".pdf") for name in files)
    deliveries = Delivery.objects.filter(organization=organization)
    states = dict(deliveries.values_list("state").annotate(n=Count("pk")))
    attempts = DeliveryAttempt.objects.filter(delivery__organization=organization)
    outcomes = dict(attempts.values_list("outcome").annotate(n=Count("pk")))
    per_delivery = deliveries.annotate(ok=Count("attempt_log", filter=Q(attempt_log__outcome=AttemptOutcome.SUCCESS)))
    print(f"\ndelivery faults on {machine()}: {args.count} graded orders, SFTP down {args.outage:.0f} s, "
          "worker killed once")
    print(f"  result sets stored:        {ResultSet.objects.filter(organization=organization).count()}")
    print(f"  delivery rows by state:    {states}")
    print(f"  files in the SFTP folder:  {len(files)} ({len(expected & set(files))} expected names, "
          f"{sum(1 for n in names.values() if n > 1)} orders with more than one file)")
    print(f"  attempts logged:           {attempts.count()} {outcomes}")
    print(f"  deliveries with != 1 successful attempt: {per_delivery.exclude(ok=1).count()}; "
          f"deliveries retried after a failure: {deliveries.filter(attempts__gt=1).count()}")
    print(f"  missing: {len(expected - set(files))}, duplicated: {len(files) - len(expected & set(files))}")


if __name__ == "__main__":
    main()
