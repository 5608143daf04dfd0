"""End to end delivery latency: grading saved -> the PDF in an SFTP folder, with a running Celery
worker (results rendered with WeasyPrint, delivery row created, sent over SFTP). Orders are
graded one at a time; the time from calling the grading service to the file appearing (renamed
into place, so complete) is measured. Target: p50 < 2 s.

    .venv/bin/python bench/delivery_latency.py [--count 30]
"""
import argparse
import tempfile
import time
from pathlib import Path

from delivery_harness import (
    django_ready, grade, orders_ready, organization_with_sftp_endpoint, sftp_start, stop, wait_until, worker_start,
)

from _setup import machine, percentile


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3, help="graded first, not measured (worker start-up)")
    args = parser.parse_args()

    django_ready()
    root = Path(tempfile.mkdtemp(prefix="iris-delivery-sftp-"))
    server = sftp_start(root)
    worker = worker_start()
    try:
        organization, site = organization_with_sftp_endpoint(server)
        orders = orders_ready(site, args.count + args.warmup, "LAT")
        timings = []
        for index, order in enumerate(orders):
            target = root / "upload" / f"{order.local_id}.pdf"
            started = time.monotonic()
            grade(order)
            if not wait_until(target.exists, timeout=60):
                raise SystemExit(f"order {order.pk}: no file after 60 s")
            if index >= args.warmup:
                timings.append((time.monotonic() - started) * 1000)
        print(f"delivery latency, grading saved -> PDF in the SFTP folder ({len(timings)} orders, 1 worker "
              f"with 2 processes) on {machine()}")
        print(f"  p50 {percentile(timings, 50):.0f} ms  p95 {percentile(timings, 95):.0f} ms  "
              f"max {max(timings):.0f} ms  (target p50 < 2000 ms)")
    finally:
        stop(worker)
        server.shutdown()


if __name__ == "__main__":
    main()
