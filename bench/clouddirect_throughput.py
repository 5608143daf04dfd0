"""Cloud Direct end to end: XADD (write-only user) -> one clouddirect_worker process on
PostgreSQL -> OrderCreationReceipt read from the events stream (read-only user).
Targets: >= 500 messages/s, p50 latency < 20 ms.

Three phases, each order new (new patient, provider, FL site):
- service: --baseline orders through ``order_request_process`` directly in this process (no
  Redis, no worker): the order service's own rate, for comparison.
- burst: --count orders XADDed as fast as one client can; throughput = orders / (last receipt -
  first send). Latency in a burst is queueing, so it is not reported from this phase.
- paced: --paced orders sent at --rate per second (below capacity); latency = receipt - send.

    .venv/bin/python bench/clouddirect_throughput.py [--count 5000] [--paced 1000] [--rate 40]
    .venv/bin/python bench/clouddirect_throughput.py --profile 400   # where a message's CPU goes
"""
import argparse
import datetime as dt
import json
import threading
import time

import redis
from clouddirect_harness import PrivateRedis, django_ready, order_request, worker_start

from _setup import cpu_seconds, machine, percentile


class Receipts:
    """Reads the events stream in a thread; records when each order's receipt arrived."""

    def __init__(self, url: str, key: str):
        self.reader = redis.Redis.from_url(url)
        self.key = key
        self.arrived: dict[str, float] = {}
        self.failed: list[dict] = []
        self.cursor = "$"
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self.stop.is_set():
            try:
                reply = self.reader.xread({self.key: self.cursor}, block=200, count=500)
            except redis.ConnectionError:
                if self.stop.is_set():
                    return
                raise
            now = time.perf_counter()
            for entry_id, fields in reply[0][1] if reply else []:
                self.cursor = entry_id
                event = json.loads(fields[b"body"])
                if event["ResultObjectType"] == "OrderCreationReceipt":
                    self.arrived.setdefault(event["OrderLocalId"], now)
                    if not event["Success"]:
                        self.failed.append(event)

    def wait_for(self, local_ids: list[str], timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(local_id in self.arrived for local_id in local_ids):
                return True
            time.sleep(0.01)
        return False


def profile(writer_url: str, keys, guid: str, count: int) -> None:
    import cProfile
    import pstats

    from orders.intake.clouddirect.worker import CloudDirectWorker

    writer, worker = redis.Redis.from_url(writer_url), CloudDirectWorker()
    for prefix, n in (("PWARM", 50), ("PROF", count)):
        for index in range(n):
            writer.xadd(keys.orders, {"type": "OrderRequest", "body": order_request(guid, f"{prefix}-{index}")})
        if prefix == "PWARM":
            worker.run_once()
    profiler = cProfile.Profile(time.process_time)
    profiler.enable()
    handled = worker.run_once()
    profiler.disable()
    stats = pstats.Stats(profiler)
    print(f"{handled} messages, worker CPU {stats.total_tt / handled * 1000:.1f} ms per message under cProfile")
    stats.sort_stats("cumulative").print_stats(r"/(orders|patients|organizations)/", 25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--paced", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=40.0)
    parser.add_argument("--baseline", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=1, help="worker processes (the target is for one)")
    parser.add_argument("--profile", type=int, default=0, metavar="N",
                        help="only: run the worker in this process on N orders under cProfile (CPU clock)")
    parser.add_argument("--appendfsync", default="everysec", choices=["always", "everysec"])
    args = parser.parse_args()

    broker = PrivateRedis(appendfsync=args.appendfsync)
    broker.start()
    workers, receipts = [], None
    try:
        organization, writer_url, reader_url = django_ready(broker.url)
        from orders.intake.clouddirect.broker import stream_keys
        from orders.models import Order
        from orders.services.order_request import order_request_process

        guid, keys = str(organization.client_guid), stream_keys(organization)
        if args.profile:
            return profile(writer_url, keys, guid, args.profile)
        service_bodies = [order_request(guid, f"SERVICE-{i}") for i in range(args.baseline)]
        service_started = time.perf_counter()
        for body in service_bodies:
            order_request_process(body=body, channel="cli", organization=organization)
        service_rate = len(service_bodies) / (time.perf_counter() - service_started)
        workers = [worker_start(broker.url) for _ in range(args.workers)]
        receipts = Receipts(reader_url, keys.events)
        writer = redis.Redis.from_url(writer_url)

        warm = [f"WARM-{i}" for i in range(100)]
        for local_id in warm:
            writer.xadd(keys.orders, {"type": "OrderRequest", "body": order_request(guid, local_id)})
        assert receipts.wait_for(warm, 60), "warm-up receipts missing"

        burst = [f"BURST-{i}" for i in range(args.count)]
        bodies = [order_request(guid, local_id) for local_id in burst]
        cpu_before = cpu_seconds(*(worker.pid for worker in workers))
        started = time.perf_counter()
        pipe = writer.pipeline(transaction=False)
        for index, body in enumerate(bodies, 1):
            pipe.xadd(keys.orders, {"type": "OrderRequest", "body": body})
            if index % 100 == 0:
                pipe.execute()
        pipe.execute()
        sent_at = time.perf_counter()
        assert receipts.wait_for(burst, 600), "burst receipts missing"
        finished = max(receipts.arrived[local_id] for local_id in burst)
        rate = len(burst) / (finished - started)
        worker_cpu_ms = (cpu_seconds(*(worker.pid for worker in workers)) - cpu_before) / len(burst) * 1000

        paced = [f"PACED-{i}" for i in range(args.paced)]
        sends: dict[str, float] = {}
        origin = time.perf_counter()
        for index, local_id in enumerate(paced):
            delay = origin + index / args.rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            body = order_request(guid, local_id)
            sends[local_id] = time.perf_counter()
            writer.xadd(keys.orders, {"type": "OrderRequest", "body": body})
        assert receipts.wait_for(paced, 120), "paced receipts missing"
        latencies = [(receipts.arrived[local_id] - sends[local_id]) * 1000 for local_id in paced]
        receipts.stop.set()

        created = Order.objects.filter(organization=organization).count()
        expected = len(service_bodies) + len(warm) + len(burst) + len(paced)
        print(f"Cloud Direct end to end — {dt.date.today().isoformat()} — {machine()}")
        print(f"  Redis appendonly yes, appendfsync {args.appendfsync}; PostgreSQL; {args.workers} worker process(es); "
              f"load average {open('/proc/loadavg').read().split()[0]}")
        print(f"  order service alone (no broker, in process): {len(service_bodies)} orders -> {service_rate:.0f}/s")
        print(f"  burst: {len(burst)} orders, sent in {sent_at - started:.2f} s, last receipt after "
              f"{finished - started:.2f} s -> {rate:.0f} messages/s (target >= 500); "
              f"worker CPU {worker_cpu_ms:.1f} ms per message")
        print(f"  paced at {args.rate:.0f}/s: {len(paced)} orders, latency XADD -> receipt p50 "
              f"{percentile(latencies, 50):.1f} ms, p95 {percentile(latencies, 95):.1f} ms, "
              f"p99 {percentile(latencies, 99):.1f} ms, max {max(latencies):.1f} ms (target p50 < 20 ms)")
        print(f"  orders created {created} of {expected}; failed receipts {len(receipts.failed)}")
    finally:
        if receipts is not None:
            receipts.stop.set()
        for worker in workers:
            worker.terminate()
            worker.wait(timeout=30)
        broker.stop()


if __name__ == "__main__":
    main()
