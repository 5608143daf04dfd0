"""Cloud Direct under faults: send --count orders (default 10,000) through the write-only user
while the worker is killed with SIGKILL twice and Redis is killed (SIGKILL) and restarted once;
then count sent, orders created, lost and duplicated. Target: 0 lost, 0 duplicated.

Redis is a private redis-server (free port, temporary directory) with appendonly yes and
appendfsync always: every XADD is on disk before the sender gets its id, so the restart loses
no acknowledged entry, no consumer group and no pending list. It does lose the ACL users
(ACL SETUSER is not persisted without an aclfile): the worker re-creates them from the
database within --maintenance-seconds, and the sender retries meanwhile. With persistence off a
restart would lose every entry not yet processed (and the pending list): do not run Cloud
Direct on a Redis without AOF.

A sender that saw a connection error cannot know whether its XADD landed, so it sends again:
such a message may be in the stream twice, and the order service's duplicate rule (same order
id -> same order) makes that harmless; the script counts these re-sends.

    .venv/bin/python bench/faults_clouddirect.py [--count 10000]
"""
import argparse
import datetime as dt
import json
import threading
import time

import redis
from clouddirect_harness import PrivateRedis, django_ready, order_request, worker_start

from _setup import machine

WORKER_ARGS = ("--min-idle-ms", "3000", "--maintenance-seconds", "2")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=250, help="orders sent per second (the faults land mid-work)")
    parser.add_argument("--timeout", type=float, default=900, help="seconds to wait for every order")
    args = parser.parse_args()

    broker = PrivateRedis(appendfsync="always")
    broker.start()
    workers = []
    try:
        organization, writer_url, reader_url = django_ready(broker.url)
        from django.db.models import Count

        from orders.intake.clouddirect.broker import stream_keys
        from orders.models import InboundChannel, InboundMessage, Order, OrderEvent

        guid, keys = str(organization.client_guid), stream_keys(organization)
        workers.append(worker_start(broker.url, *WORKER_ARGS))
        writer = redis.Redis.from_url(writer_url, socket_timeout=5)
        sent, resends = [], 0
        faults = {args.count * 2 // 10: "kill worker", args.count * 5 // 10: "restart redis",
                  args.count * 8 // 10: "kill worker"}
        log = []
        started = time.monotonic()

        def orders_created() -> int:
            return Order.objects.filter(organization=organization).count()

        def fault(what: str) -> None:
            if what == "kill worker":  # kill a worker that is busy, not one still starting
                busy_after, deadline = orders_created() + 50, time.monotonic() + 60
                while orders_created() < busy_after and time.monotonic() < deadline:
                    time.sleep(0.05)
            log.append(f"{time.monotonic() - started:6.1f}s after {len(sent)} sent, {orders_created()} created: {what}")
            if what == "kill worker":
                workers[-1].kill()  # SIGKILL: mid-batch, nothing acknowledged since its last commit
                workers[-1].wait()
                workers.append(worker_start(broker.url, *WORKER_ARGS))
            else:
                broker.kill()
                broker.start()

        for index in range(args.count):
            delay = started + index / args.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            if index in faults:
                threading.Thread(target=fault, args=(faults[index],)).start()
            local_id = f"F-{index}"
            body = order_request(guid, local_id)
            while True:
                try:
                    writer.xadd(keys.orders, {"type": "OrderRequest", "body": body})
                    break
                except (redis.ConnectionError, redis.TimeoutError, redis.AuthenticationError,
                        redis.exceptions.NoPermissionError) as exc:
                    resends += 1
                    if resends % 50 == 1:
                        log.append(f"{time.monotonic() - started:6.1f}s sender: {type(exc).__name__}, retrying")
                    time.sleep(0.05)
            sent.append(local_id)
        send_seconds = time.monotonic() - started

        deadline = time.monotonic() + args.timeout
        while time.monotonic() < deadline:
            if orders_created() >= len(sent):
                break
            time.sleep(0.5)
        drained = time.monotonic() - started
        # every receipt on the events stream (published live, or by the sweep after the outage)
        receipts, cursor = set(), "0-0"
        reader = redis.Redis.from_url(reader_url)
        receipt_deadline = time.monotonic() + 60
        while time.monotonic() < receipt_deadline and len(receipts) < len(sent):
            reply = reader.xread({keys.events: cursor}, count=1000, block=1000)
            for entry_id, fields in reply[0][1] if reply else []:
                cursor = entry_id
                event = json.loads(fields[b"body"])
                if event["ResultObjectType"] == "OrderCreationReceipt" and event["Success"]:
                    receipts.add(event["OrderLocalId"])

        created = dict(Order.objects.filter(organization=organization).values("local_id")
                       .annotate(n=Count("id")).values_list("local_id", "n"))
        lost = [local_id for local_id in sent if local_id not in created]
        duplicated = sum(n - 1 for n in created.values() if n > 1)
        inbound = InboundMessage.objects.filter(organization=organization, channel=InboundChannel.CLOUDDIRECT)
        reprocessed = inbound.values("control_id").annotate(n=Count("id")).filter(n__gt=1).count()
        stream_copies = inbound.count() - len(sent)
        unpublished = OrderEvent.objects.filter(organization=organization, published_at__isnull=True).count()
        print(f"Cloud Direct faults — {dt.date.today().isoformat()} — {machine()}")
        print("  Redis appendonly yes, appendfsync always; PostgreSQL; worker --min-idle-ms 3000")
        for line in log:
            print(f"  {line}")
        print(f"  sent {len(sent)} in {send_seconds:.1f} s (re-sent after errors: {resends}); "
              f"all processed after {drained:.1f} s")
        print(f"  orders created {len(created)}; lost {len(lost)}; duplicated {duplicated}")
        print(f"  stream entries stored {inbound.count()} (extra copies from re-sends: {stream_copies}); "
              f"entries stored twice: {reprocessed}")
        print(f"  orders with a receipt on the events stream {len(receipts & set(sent))}; "
              f"events never published {unpublished}")
        if lost or duplicated or reprocessed:
            raise SystemExit(1)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.terminate()
                worker.wait(timeout=30)
        broker.stop()


if __name__ == "__main__":
    main()
