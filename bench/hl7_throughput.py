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
import subprocess
import sys
import threading
import time
from pathlib import Path

from _setup import ROOT, django_setup, machine, percentile

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


def listener_start(url: str, workers: int) -> tuple[subprocess.Popen, int]:
    env = dict(os.environ, DATABASE_URL=url, LOG_LEVEL="WARNING", DJANGO_SETTINGS_MODULE="iris_portal.settings")
    process = subprocess.Popen([sys.executable, "manage.py", "hl7_listener", "--port", "0", "--workers", str(workers)],
                               cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    if not line.startswith("HL7 listener on"):
        process.kill()
        raise SystemExit(f"listener did not start: {line!r}")
    return process, int(line.rsplit(":", 1)[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_clients(port: int, connections: int, count: int,
                listener_pid: int) -> tuple[list[float], float, float, list[str]]:
    from iris_portal.hl7_mllp_client import MLLPClient

    per_connection = count // connections
    latencies: list[float] = []
    problems: list[str] = []
    warmed = threading.Barrier(connections + 1)
    done = threading.Barrier(connections + 1)

    def client(index: int) -> None:
        base = index * (per_connection + WARMUP)
        mine = []
        with MLLPClient("127.0.0.1", port, response_timeout=60) as mllp:
            for number in range(base, base + WARMUP):
                mllp.send(orm_message(number), retries=0)
            warmed.wait()
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
    started, cpu_started = time.perf_counter(), cpu_seconds(listener_pid)
    done.wait()
    return latencies, time.perf_counter() - started, cpu_seconds(listener_pid) - cpu_started, problems


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
    "order service (order_request_process)": ("services/order_request.py", "order_request_process"),
    "  patient_find (select for update)": ("patients/services.py", "patient_find"),
    "  patient_create": ("patients/services.py", "patient_create"),
    "  events_record": ("services/events.py", "events_record"),
    "  inbound_finish": ("services/inbox.py", "inbound_finish"),
    "replay check (_accepted_before)": ("hl7/intake.py", "_accepted_before"),
    "python-hl7 parse (message_parse)": ("hl7/message.py", "message_parse"),
    "raw message insert (inbound_store)": ("services/inbox.py", "inbound_store"),
    "ORM -> OrderRequest mapping (orm_map)": ("hl7/mapping.py", "orm_map"),
    "pydantic OrderRequest (_request_body)": ("hl7/intake.py", "_request_body"),
    "ACK (_receipt)": ("hl7/intake.py", "_receipt"),
}


def profile(count: int) -> None:
    """Where the listener's CPU goes per message: the frame handler in process, sequential,
    under cProfile with the CPU clock (its overhead inflates the absolute numbers, not the shares)."""
    import cProfile
    import pstats

    from iris_portal.hl7_mllp_client import MLLPDecoder, mllp_wrap
    from orders.intake.hl7.intake import hl7_frame_receive
    from orders.intake.hl7.senders import SenderDirectory

    senders = SenderDirectory()
    frames = [MLLPDecoder().feed(mllp_wrap(orm_message(900_000 + n)))[0] for n in range(count)]
    for frame in frames[:WARMUP]:
        hl7_frame_receive(frame=frame, senders=senders)
    measured = frames[WARMUP:]
    cpu = time.process_time()
    for frame in measured[: len(measured) // 2]:
        hl7_frame_receive(frame=frame, senders=senders)
    plain = (time.process_time() - cpu) / (len(measured) // 2)
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    for frame in measured[len(measured) // 2:]:
        hl7_frame_receive(frame=frame, senders=senders)
    profiler.disable()
    stats = pstats.Stats(profiler).stats

    def cumulative(path: str, function: str) -> float:
        return sum(row[3] for (file, _, name), row in stats.items() if name == function and file.endswith(path))

    total = cumulative("hl7/intake.py", "hl7_frame_receive")
    statements = sum(row[1] for (file, _, name), row in stats.items()
                     if name == "execute" and file.endswith("django/db/backends/utils.py"))
    print(f"CPU per message without the profiler: {plain * 1000:.2f} ms; "
          f"SQL statements per message: {statements / (len(measured) - len(measured) // 2):.1f}")
    for label, (path, function) in PROFILE_PARTS.items():
        print(f"{label:42s} {cumulative(path, function) / total * 100:5.1f} % of the CPU")
    existing = sum(call[3] for (file, _, name), row in stats.items()
                   if name == "first" and file.endswith("models/query.py")
                   for (_, _, caller), call in row[4].items() if caller == "_order_new")
    print(f"{'  the existing-order check in _order_new':42s} {existing / total * 100:5.1f} % of the CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--count", type=int, default=10000, help="measured messages (after warm-up)")
    parser.add_argument("--workers", type=int, default=8, help="listener worker threads")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    url = django_setup(os.environ.get("BENCH_DATABASE_URL") or DEFAULT_URL)
    if args.profile:
        profile(min(args.count, 1000))
        return
    probe = commit_latency(url)
    process, port = listener_start(url, args.workers)
    try:
        latencies, elapsed, listener_cpu, problems = run_clients(port, args.connections, args.count, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=60)
    from orders.models import Order

    created = Order.objects.filter(local_id__startswith="BENCH").count()
    sent = len(latencies)
    print(f"date: {dt.date.today()}  machine: {machine()}  database: {url.rsplit('@', 1)[-1]}")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}  INSERT+COMMIT p50 before the run: {probe * 1000:.2f} ms")
    print(f"connections: {args.connections}  listener workers: {args.workers}  measured messages: {sent}"
          f"  orders in database: {created}  not AA: {len(problems)}")
    print(f"throughput: {sent / elapsed:.0f} messages/s  ({elapsed:.1f} s)")
    print(f"listener CPU: {listener_cpu / sent * 1000:.2f} ms per message "
          f"(one process, one interpreter lock: at most {sent / listener_cpu:.0f} messages/s per core)")
    print(f"latency ms (send -> ACK): p50 {percentile(latencies, 50) * 1000:.1f}  "
          f"p95 {percentile(latencies, 95) * 1000:.1f}  p99 {percentile(latencies, 99) * 1000:.1f}")
    if problems:
        print("first problem:", problems[0].replace("\r", "\n"))


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()
