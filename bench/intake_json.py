"""Intake throughput: N generated NW OrderRequests through the one order service, one process,
on PostgreSQL. Target: >= 500 requests/s (issue: Foundation).

    .venv/bin/python bench/intake_json.py [--count 10000] [--profile]
"""
import argparse
import datetime as dt
import json
import time

from _setup import django_setup, machine, percentile


def make_requests(client_guid: str, count: int, prefix: str = "BENCH") -> list[str]:
    bodies = []
    for i in range(count):
        bodies.append(json.dumps({
            "Version": "2.3.1", "OrderControlCode": "NW", "ClientGuid": client_guid,
            "Site": {"LocalId": "PC1234"}, "Camera": {"LocalId": "1234"},
            "Order": {"LocalId": f"{prefix}-{i}", "EvaluationTypes": ["DR"], "ScheduledTime": "1/1/2025",
                      "CPTCode": "92229", "State": "FL"},
            "Patient": {"LocalId": f"{prefix}P{i}", "Name": {"First": "Bench", "Last": f"Patient{i}"},
                        "Dob": "1/2/1960", "Genders": [{"Context": "BirthGender", "Gender": "F"}],
                        "DxCode": "E119"},
            "OrderingProvider": {"NPI": "1234567893", "Name": {"First": "Ord", "Last": "Ering"}},
            "HealthPlan": {"LocalId": "HP", "Name": "Plan", "MemberId": f"M{i}",
                           "PrimaryCareProvider": {"NPI": "1234567893"}},
        }))
    return bodies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true", help="cProfile the run, print the top functions")
    args = parser.parse_args()
    url = django_setup()
    from orders.models import Order
    from orders.services.order_request import order_request_process
    from organizations.demo import DEMO_CLIENT_GUID

    bodies = make_requests(str(DEMO_CLIENT_GUID), args.count)
    for body in make_requests(str(DEMO_CLIENT_GUID), 50, prefix="WARM"):  # warm-up, not counted
        order_request_process(body=body, channel="cli")
    # Planner statistics, as autovacuum keeps them in production. This machine's PostgreSQL runs
    # with autovacuum off: without them the planner picks the single-column FK index and scans
    # every order of the organization to find one local id, so each request gets slower as the
    # table grows.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    latencies = []
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    started = time.perf_counter()
    failures = 0
    for body in bodies:
        t0 = time.perf_counter()
        outcome = order_request_process(body=body, channel="cli")
        latencies.append(time.perf_counter() - t0)
        failures += not outcome.success
    elapsed = time.perf_counter() - started
    if profiler:
        import pstats

        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
    created = Order.objects.filter(local_id__startswith="BENCH-").count()
    print(f"date: {dt.date.today()}  machine: {machine()}  database: {url.rsplit('@', 1)[-1]}")
    print(f"requests: {args.count}  created: {created}  failed: {failures}")
    print(f"throughput: {args.count / elapsed:.0f} requests/s  ({elapsed:.1f} s)")
    print(f"latency ms: p50 {percentile(latencies, 50) * 1000:.2f}  p95 {percentile(latencies, 95) * 1000:.2f}"
          f"  p99 {percentile(latencies, 99) * 1000:.2f}")


if __name__ == "__main__":
    main()
