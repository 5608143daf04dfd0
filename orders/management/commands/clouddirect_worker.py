import signal
import threading

from django.core.management.base import BaseCommand

from orders.intake.clouddirect.publisher import events_unpublished_sweep
from orders.intake.clouddirect.worker import CloudDirectWorker


class Command(BaseCommand):
    help = ("Consume every active organization's Cloud Direct orders stream (Redis consumer group "
            "'iris-portal', consumer host-pid) and publish events, until SIGTERM/SIGINT.")
    # A consumer needs the database and Redis, not the URLconf or admin: a broken page elsewhere
    # must not stop order intake (the web process still runs the checks).
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true",
                            help="handle what is waiting (including reclaimable entries), then exit")
        parser.add_argument("--sweep-events", action="store_true",
                            help="only publish events that were never published, then exit")
        parser.add_argument("--min-idle-ms", type=int, default=None,
                            help="reclaim entries pending this long (default IRIS_CLOUDDIRECT_MIN_IDLE_MS, 60000)")
        parser.add_argument("--max-attempts", type=int, default=None,
                            help="failures before a message is dead-lettered "
                                 "(default IRIS_CLOUDDIRECT_MAX_ATTEMPTS, 5)")
        parser.add_argument("--maintenance-seconds", type=float, default=None,
                            help="how often to refresh groups and ACL users and sweep events "
                                 "(default IRIS_CLOUDDIRECT_MAINTENANCE_SECONDS, 30)")
        parser.add_argument("--count", type=int, default=50, help="entries per read")
        parser.add_argument("--block-ms", type=int, default=1000, help="how long one read waits")
        parser.add_argument("--consumer", default=None, help="consumer name (default host-pid)")

    def handle(self, *args, **options):
        if options["sweep_events"]:
            self.stdout.write(f"published {events_unpublished_sweep()} events")
            return
        worker = CloudDirectWorker(consumer=options["consumer"], count=options["count"], block_ms=options["block_ms"],
                                   min_idle_ms=options["min_idle_ms"], max_attempts=options["max_attempts"],
                                   maintenance_seconds=options["maintenance_seconds"])
        if options["once"]:
            self.stdout.write(f"handled {worker.run_once()} messages")
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        self.stdout.write(f"clouddirect worker {worker.consumer}: consuming (stop with SIGTERM or Ctrl-C)")
        worker.run(stop)
