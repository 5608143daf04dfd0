"""Portal load: the Order Manager list and the order detail page with 100,000 orders in
PostgreSQL, served by gunicorn, at 1, 5 and 20 concurrent clients (closed loop: threads with
keep-alive connections, each signed in with its own session, sending the next request as soon as
the last one is answered, no think time). Reports p50/p95/p99 per page, throughput per level,
the number of SQL queries each page runs, and the CPU time the server (gunicorn and PostgreSQL
backends, not the load generator) spent per request, which other load on the machine does not
inflate as much as latency. Targets: p95 < 150 ms, <= 12 queries per page.

    .venv/bin/python bench/web_load.py [--orders 100000] [--requests 1000] [--clients 1,5,20]
                                       [--workers 2] [--threads 1] [--think 0] [--reuse]

Database: BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/iris_portal_t), recreated
unless --reuse finds it already seeded.
"""
import argparse
import datetime as dt
import http.client
import os
import random
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import ROOT, cpu_seconds, django_setup, machine, percentile, production_cache

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/iris_portal_t"
BATCH = 5000
FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Radia", "Ken"]
LAST = ["Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Backus", "Perlman", "Thompson"]


def seed_orders(count: int) -> None:
    """``count`` orders of Demo Health (two sites) over a year, two per patient: the older one
    closed, the newer in any status; an OrderCreationReceipt event each. Bulk inserts (this is
    data for a read benchmark, not an intake path)."""
    import uuid

    from django.db import transaction
    from django.utils import timezone

    from orders.models import Order, OrderEvent, OrderExam, OrderStatus
    from organizations.demo import DEMO_CLIENT_GUID
    from organizations.models import Organization, Provider
    from patients.models import Patient

    org = Organization.objects.get(client_guid=DEMO_CLIENT_GUID)
    sites = list(org.sites.all())
    provider = Provider.objects.get(npi="1234567893")
    rng = random.Random(9)
    now = timezone.now()
    open_statuses = [OrderStatus.AWAITING_IMAGES, OrderStatus.READY_FOR_GRADING, OrderStatus.IN_GRADING,
                     OrderStatus.COMPLETE, OrderStatus.COMPLETE, OrderStatus.CANCELLED]
    made = 0
    while made < count:
        n = min(BATCH, count - made) // 2 or 1
        with transaction.atomic():
            patients = Patient.objects.bulk_create([
                Patient(organization=org, site=sites[(made // 2 + i) % len(sites)], local_id=f"BP{made // 2 + i:07d}",
                        first_name=FIRST[i % len(FIRST)], last_name=f"{LAST[(made + i) % len(LAST)]}{i % 97}",
                        dob=dt.date(1940 + i % 60, 1 + i % 12, 1 + i % 28)) for i in range(n)])
            orders = []
            for index, patient in enumerate(patients):
                for second in (False, True):
                    created = now - dt.timedelta(minutes=rng.randrange(365 * 24 * 60))
                    status = rng.choice(open_statuses) if second else rng.choice([OrderStatus.COMPLETE,
                                                                                  OrderStatus.CANCELLED])
                    orders.append(Order(
                        organization=org, patient=patient, site=patient.site, local_id=f"B{made + 2 * index + second:08d}",
                        evaluation_types=["DR"], state=patient.site.state, status=status,
                        source=rng.choice(["web", "hl7", "csv", "clouddirect"]), ordering_provider=provider,
                        cpt_code="92229", urgent=rng.random() < 0.02,
                        graded_at=created + dt.timedelta(hours=rng.randrange(2, 72)) if status == "complete" else None))
                    orders[-1]._created = created
            Order.objects.bulk_create(orders)
            OrderExam.objects.bulk_create([OrderExam(order=o, patient=o.patient, evaluation_type="DR",
                                                     is_open=o.is_open) for o in orders])
            OrderEvent.objects.bulk_create([OrderEvent(organization=org, order=o, event_type="OrderCreationReceipt",
                                                       transaction_id=uuid.uuid4(), timestamp=o._created, payload={})
                                            for o in orders])
            for o in orders:  # auto_now_add ignores a given value: spread creation over the year
                o.created_at = o._created
            Order.objects.bulk_update(orders, ["created_at"], batch_size=1000)
        made += len(orders)
        print(f"  seeded {made} orders", flush=True)
    from django.db import connection

    with connection.cursor() as cursor:  # what autovacuum would do after a bulk load
        cursor.execute("VACUUM ANALYZE")


def session_cookie(user) -> str:
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "iris_portal.auth_backends.PortalModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def queries_per_page(user, paths: dict[str, str]) -> dict[str, int]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    counts = {}
    for name, path in paths.items():
        client.get(path)  # warm
        with CaptureQueriesContext(connection) as captured:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        # Statements, not transaction control (the session save runs in BEGIN ... COMMIT).
        counts[name] = sum(not q["sql"].startswith(("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE"))
                           for q in captured.captured_queries)
    return counts


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_load(port: int, cookies: list[str], plan: list[tuple[str, str]], clients: int,
             think: float = 0.0) -> dict[str, list[float]]:
    """Each client takes the next request of the shared plan until it is empty, pausing for an
    exponentially distributed think time of mean ``think`` seconds after each answer (0: none)."""
    results: dict[str, list[float]] = {}
    errors = []
    lock = threading.Lock()
    queue = list(reversed(plan))

    def client(cookie: str, seed: int):
        pause = random.Random(seed)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                name, path = queue.pop()
            started = time.perf_counter()
            connection.request("GET", path, headers={"Cookie": cookie, "Host": "127.0.0.1"})
            response = connection.getresponse()
            response.read()
            elapsed = time.perf_counter() - started
            with lock:
                if response.status != 200:
                    errors.append((path, response.status))
                results.setdefault(name, []).append(elapsed)
            if think:
                time.sleep(pause.expovariate(1 / think))
        connection.close()

    threads = [threading.Thread(target=client, args=(cookies[i % len(cookies)], i)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise SystemExit(f"{len(errors)} requests failed, e.g. {errors[:3]}")
    return results


def server_pids(master: int) -> tuple[list[int], list[int]]:
    """The gunicorn master and its workers, and the PostgreSQL backends of this database (the
    load generator itself is not counted)."""
    from django.db import connection

    children = []
    for task in Path(f"/proc/{master}/task").iterdir():
        children += [int(pid) for pid in (task / "children").read_text().split()]
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity"
                       " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        backends = [row[0] for row in cursor.fetchall()]
    return [master, *children], backends


def gunicorn_command(port: int, workers: int, threads: int, app: str = "iris_portal.wsgi") -> list[str]:
    """gunicorn as deployed: sync workers, or gthread workers when ``threads`` > 1."""
    command = [str(Path(sys.executable).with_name("gunicorn")), app, "-w", str(workers),
               "-b", f"127.0.0.1:{port}", "--access-logfile", "-", "--log-level", "warning"]
    if threads > 1:
        command += ["-k", "gthread", "--threads", str(threads)]
    return command


def server_env(url: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmarked server: production settings on the benchmark database."""
    return {**os.environ, "DATABASE_URL": url, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1", "LOG_LEVEL": "WARNING",
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-only"), "DB_CONN_MAX_AGE": "600", **extra}


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def summarize(results: dict[str, list[float]], elapsed: float) -> dict[str, dict[str, float]]:
    summary = {}
    for name, values in results.items():
        summary[name] = {"n": len(values), "p50": percentile(values, 50) * 1000, "p95": percentile(values, 95) * 1000,
                         "p99": percentile(values, 99) * 1000}
    summary["all"] = {"throughput": sum(len(v) for v in results.values()) / elapsed}
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=1000, help="requests per concurrency level")
    parser.add_argument("--clients", default="1,5,20", help="concurrency levels, comma-separated")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (> 1: gthread workers)")
    parser.add_argument("--think", type=float, default=0.0,
                        help="mean think time (s) of each client between requests (default 0: closed loop)")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    args = parser.parse_args()
    levels = [int(level) for level in args.clients.split(",")]
    url = os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL
    os.environ["BENCH_DATABASE_URL"] = url
    production_cache()
    django_setup(url, fresh=not args.reuse)
    from orders.models import Order
    from organizations.demo import DEMO_CLIENT_GUID
    from organizations.models import User

    existing = Order.objects.filter(organization__client_guid=DEMO_CLIENT_GUID).count()
    if existing < args.orders:
        print(f"seeding {args.orders - existing} orders ...", flush=True)
        seed_orders(args.orders - existing)
    user = User.objects.get(username="clinic")
    order_ids = list(Order.objects.filter(organization__client_guid=DEMO_CLIENT_GUID)
                     .order_by("?").values_list("pk", flat=True)[:500])
    site_id = user.organization.sites.first().pk
    list_paths = ["/orders/", "/orders/?page=2", "/orders/?page=40", "/orders/?status=open",
                  f"/orders/?site={site_id}&status=complete", "/orders/?evaluation_type=DR&source=hl7"]
    counts = queries_per_page(user, {"order list": "/orders/", "order list, filtered": list_paths[4],
                                     "order list, search": "/orders/?q=Turing42",
                                     "order detail": f"/orders/{order_ids[0]}/", "dashboard": "/"})
    cookies = [session_cookie(user) for _ in range(max(levels))]

    rng = random.Random(1)
    plan = []
    for index in range(args.requests):
        if index % 2:
            plan.append(("order detail", f"/orders/{rng.choice(order_ids)}/"))
        else:
            plan.append(("order list", rng.choice(list_paths)))
    port = free_port()
    server = subprocess.Popen(gunicorn_command(port, args.workers, args.threads), cwd=ROOT, env=server_env(url),
                              stdout=subprocess.DEVNULL)
    summaries = {}
    try:
        wait_for_port(port)
        warm = [("warm", p) for p in list_paths * 4] + [("warm", f"/orders/{i}/") for i in order_ids[:40]]
        run_load(port, cookies, warm, max(levels))
        app_pids, db_pids = server_pids(server.pid)
        for clients in levels:
            app_cpu, db_cpu, load = cpu_seconds(*app_pids), cpu_seconds(*db_pids), os.getloadavg()[0]
            client_cpu = time.process_time()
            started = time.perf_counter()
            results = run_load(port, cookies, plan, clients, args.think)
            summaries[clients] = summarize(results, time.perf_counter() - started)
            summaries[clients]["all"].update(app_cpu=(cpu_seconds(*app_pids) - app_cpu) / len(plan) * 1000,
                                             db_cpu=(cpu_seconds(*db_pids) - db_cpu) / len(plan) * 1000,
                                             client_cpu=(time.process_time() - client_cpu) / len(plan) * 1000,
                                             load=max(load, os.getloadavg()[0]))
    finally:
        server.terminate()
        server.wait(timeout=30)

    total = Order.objects.filter(organization__client_guid=DEMO_CLIENT_GUID).count()
    kind = f"gthread, {args.threads} threads each" if args.threads > 1 else "sync"
    print(f"date: {dt.date.today()}  machine: {machine()}  load average: {os.getloadavg()[0]:.1f}")
    print(f"orders: {total}  gunicorn: {args.workers} workers ({kind})  requests per level: {args.requests}"
          f"  think time: {f'{args.think:g} s mean (exponential)' if args.think else 'none (closed loop)'}")
    print("| page | clients | requests | p50 | p95 | p99 | queries |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for clients, summary in summaries.items():
        for name in ("order list", "order detail"):
            row = summary[name]
            print(f"| {name} | {clients} | {row['n']} | {row['p50']:.0f} ms | {row['p95']:.0f} ms | {row['p99']:.0f} ms"
                  f" | {counts[name]} |")
    for name in ("order list, filtered", "order list, search", "dashboard"):
        print(f"| {name} (queries only) | | | | | | {counts[name]} |")
    print()
    print("| clients | throughput (both pages) | gunicorn CPU per request | PostgreSQL CPU per request"
          " | load generator CPU per request | highest load average |")
    print("| --- | --- | --- | --- | --- | --- |")
    for clients, summary in summaries.items():
        total = summary["all"]
        print(f"| {clients} | {total['throughput']:.0f} requests/s | {total['app_cpu']:.1f} ms"
              f" | {total['db_cpu']:.1f} ms | {total['client_cpu']:.1f} ms | {total['load']:.1f} |")


if __name__ == "__main__":
    main()
