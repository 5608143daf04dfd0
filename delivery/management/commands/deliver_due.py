"""``python manage.py deliver_due``: send every due delivery now, in this process (SPEC section 8)."""
import json

from django.core.management.base import BaseCommand

from delivery.services import deliveries_run_due


class Command(BaseCommand):
    help = "Send every due (or stuck) result delivery now, synchronously; prints counts by outcome as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=1000, help="At most this many deliveries (default 1000).")

    def handle(self, *args, limit: int, **options):
        counts = deliveries_run_due(limit=limit)
        self.stdout.write(json.dumps({"attempted": sum(counts.values()), **counts}, sort_keys=True))
