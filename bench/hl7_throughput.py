"""HL7 intake throughput: N MLLP client connections send ORM^O01 NW orders to the listener
(``manage.py hl7_listener`` in its own process) on PostgreSQL; each message is acknowledged
only after it is stored and processed. Target: >= 500 messages/s sustained (issue 4).

    .venv/bin/python bench/hl7_throughput.py [--connections 8] [--count 6000] [--workers 8]
    .venv/bin/python bench/hl7_throughput.py --profile   # cProfile of the per-message work, in process

The database (default postgres://postgres@127.0.0.1:5432/iris_hl7_bench, or BENCH_DATABASE_URL)
is recreated, migrated and seeded with the demo data.
"""
import argparse
import datetime as dt
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import ROOT, cpu_seconds, django_setup, machine, percentile, postgres_cpu_seconds

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/iris_hl7_bench"
WARMUP = 50  # messages per connection not counted (connections, caches)


def orm_message(number: int) -> bytes:
    """A realistic NW: the published example's shape, for the demo organization."""
    return "\r".join([
        f"MSH|^~\\&|EPIC|DEMOHEALTH||IRIS|20250101120000||ORM^O01|B{number}|P|2.4",
        f"PID|1|MRN{number}^^^^MR|MRN{number}||Bench^Pat{number}||19600102|F||2106-3|"
        f"1 Main St^^Tampa^FL^33601||(813)555-0100|||M||ENC{number}|123-45-6789",
        "PV1||O|PC1234",
        f"ORC|NW|BENCH{number}^EPIC|||||||20250102083000|HJ123^HOPKINS^JOHN||1234567893^Reader^Grace^^^^^^^^^^NPI",
        f"OBR|1|BENCH{number}^EPIC||92250^FUNDUS PHOTOGRAPHY||20250102",
        "DG1|1|I10|E11.9^Type 2 diabetes mellitus without complications^I10|Type 2 diabetes",
    ]).encode()


def listener_start(url: str, workers: int, processes: int = 1) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, DATABASE_URL=url, LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="iris_portal.settings")
    process = subprocess.Popen([sys.executable, "manage.py", "hl7_listener", "--port", "0", "--workers", str(workers),
                                "--processes", str(processes)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    found = re.match(r"HL7 listener on [^ ]+:(\d+)", line)
    if not found:
        process.kill()
        raise SystemExit(f"listener did not start: {line!r}")
    return process, int(found[1])


def analyze() -> None:
    """Planner statistics after the warm-up, as autovacuum keeps them in production (this
    machine's PostgreSQL runs with autovacuum off; without them lookups turn into scans as the
    tables grow during the run)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def run_clients(port: int, connections: int, count: int,
                listener_pid: int) -> tuple[list[float], float, dict[str, float], list[str]]:
    from iris_portal.hl7_mllp_client import MLLPClient

    per_connection = count // connections
    latencies: list[float] = []
    problems: list[str] = []
    warmed = threading.Barrier(connections + 1)
    done = threading.Barrier(connections + 1)
    go = threading.Barrier(connections + 1)

    def client(index: int) -> None:
        base = index * (per_connection + WARMUP)
        mine = []
        with MLLPClient("127.0.0.1", port, response_timeout=60) as mllp:
            for number in range(base, base + WARMUP):
                mllp.send(orm_message(number), retries=0)
            warmed.wait()
            go.wait()
            for number in range(base + WARMUP, base + WARMUP + per_connection):
                t0 = time.perf_counter()
                ack = mllp.send(orm_message(number), retries=0)
                mine.append(time.perf_counter() - t0)
                if ack.code != "AA":
                    problems.append(ack.raw)
        latencies.extend(mine)
        done.wait()

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(connections)]
    for thread in threads:
        thread.start()
    warmed.wait()
    analyze()  # while the clients wait at the barrier below
    go.wait()
    started, cpu_started = time.perf_counter(), cpu_seconds(listener_pid, children=True)
    own, database = os.times(), postgres_cpu_seconds()
    done.wait()
    ended = os.times()
    cpu = {"listener": cpu_seconds(listener_pid, children=True) - cpu_started,
           "clients": (ended.user + ended.system) - (own.user + own.system),
           "postgres": postgres_cpu_seconds() - database}
    return latencies, time.perf_counter() - started, cpu, problems


def commit_latency(url: str, rounds: int = 50) -> float:
    """Median seconds of one INSERT + COMMIT right now: how fast this disk makes a message durable."""
    import psycopg

    timings = []
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bench_commit_probe (x int)")  # logged: a real WAL flush
        for _ in range(rounds):
            t0 = time.perf_counter()
            conn.execute("INSERT INTO bench_commit_probe VALUES (1)")
            timings.append(time.perf_counter() - t0)
        conn.execute("DROP TABLE bench_commit_probe")
    return percentile(timings, 50)


PROFILE_PARTS = {  # label -> (file, function) whose cumulative CPU is reported
    "screening: parse, sender, mapping (_screen)": ("hl7/intake.py", "_screen"),
    "  python-hl7 parse (message_parse)": ("hl7/message.py", "message_parse"),
    "  ORM -> OrderRequest mapping (orm_map)": ("hl7/mapping.py", "orm_map"),
    "replay check for the batch (_accepted_keys)": ("hl7/intake.py", "_accepted_keys"),
    "store + batch path (_organization_batch)": ("hl7/intake.py", "_organization_batch"),
    "  pydantic OrderRequest (_request_body)": ("hl7/intake.py", "_request_body"),
    "  raw rows, patients, orders, exams, events (rows_insert)": ("services/order_batch.py", "rows_insert"),
    "  decisions (OrderBatch._apply)": ("services/order_batch.py", "_apply"),
    "  inbox statuses (inbound_bulk_finish)": ("services/order_batch.py", "inbound_bulk_finish"),
    "ACKs (_receipt)": ("hl7/intake.py", "_receipt"),
}


def profile(count: int, batch: int = 16) -> None:
    """Where the listener's CPU goes per message: the batch handler in process (batches of
    ``batch`` frames, as under load), under cProfile with the CPU clock (its overhead inflates
    the absolute numbers, not the shares)."""
    import cProfile
    import pstats

    from iris_portal.hl7_mllp_client import MLLPDecoder, mllp_wrap
    from orders.intake.hl7.intake import hl7_frames_receive
    from orders.intake.hl7.senders import SenderDirectory

    senders = SenderDirectory()
    frames = [MLLPDecoder().feed(mllp_wrap(orm_message(900_000 + n)))[0] for n in range(count)]
    batches = [frames[i:i + batch] for i in range(0, len(frames), batch)]
    warm, measured = batches[:4], batches[4:]
    for frames_ in warm:
        hl7_frames_receive(frames=frames_, senders=senders)
    analyze()
    half = len(measured) // 2
    cpu = time.process_time()
    for frames_ in measured[:half]:
        hl7_frames_receive(frames=frames_, senders=senders)
    plain = (time.process_time() - cpu) / sum(len(f) for f in measured[:half])
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for frames_ in measured[half:]:
        hl7_frames_receive(frames=frames_, senders=senders)
    profiler.disable()
    stats = pstats.Stats(profiler).stats

    def cumulative(path: str, function: str) -> float:
        return sum(row[3] for (file, _, name), row in stats.items() if name == function and file.endswith(path))

    total = cumulative("hl7/intake.py", "hl7_frames_receive")
    print(f"CPU per message without the profiler, batches of {batch}: {plain * 1000:.2f} ms")
    for label, (path, function) in PROFILE_PARTS.items():
        print(f"{label:58s} {cumulative(path, function) / total * 100:5.1f} % of the CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--count", type=int, default=10000, help="measured messages (after warm-up)")
    parser.add_argument("--workers", type=int, default=8, help="listener worker threads (per process)")
    parser.add_argument("--processes", type=int, default=1, help="listener processes sharing the port")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    url = django_setup(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
    if args.profile:
        profile(min(args.count, 1000))
        return
    probe = commit_latency(url)
    process, port = listener_start(url, args.workers, args.processes)
    try:
        latencies, elapsed, cpu, problems = run_clients(port, args.connections, args.count, process.pid)
        listener_cpu = cpu["listener"]
    finally:
        process.terminate()
        process.wait(timeout=60)
    from orders.models import Order

    created = Order.objects.filter(local_id__startswith="BENCH").count()
    sent = len(latencies)
    print(f"date: {dt.date.today()}  machine: {machine()}  database: {url.rsplit('@', 1)[-1]}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}  INSERT+COMMIT p50 before the run: {probe * 1000:.2f} ms")
    print(f"connections: {args.connections}  listener processes: {args.processes}  workers: {args.workers}"
          f"  measured messages: {sent}"
          f"  orders in database: {created}  not AA: {len(problems)}")
    print(f"throughput: {sent / elapsed:.0f} messages/s  ({elapsed:.1f} s)")
    print(f"listener CPU: {listener_cpu / sent * 1000:.2f} ms per message "
          f"(one interpreter lock per process: at most {sent / listener_cpu:.0f} messages/s per core)")
    print("CPU per message: " + ", ".join(f"{name} {seconds / sent * 1000:.2f} ms" for name, seconds in cpu.items())
          + f"  (2 cores = {2000 / (sum(cpu.values()) / sent * 1000):.0f} messages/s if nothing else ran)")
    print(f"latency ms (send -> ACK): p50 {percentile(latencies, 50) * 1000:.1f}  "
          f"p95 {percentile(latencies, 95) * 1000:.1f}  p99 {percentile(latencies, 99) * 1000:.1f}")
    if problems:
        print("first problem:", problems[0].replace("\r", "\n"))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
