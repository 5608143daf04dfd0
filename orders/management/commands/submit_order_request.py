import json
import sys

from django.core.management.base import BaseCommand

from orders.models import InboundChannel
from orders.services.order_request import order_request_process


class Command(BaseCommand):
    help = ("Process one OrderRequest JSON (a file, or - for standard input) through the order service; "
            "prints each emitted event as one JSON line. Exit 0 when accepted, 1 when rejected.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the JSON file, or - for standard input")

    def handle(self, *args, **options):
        path = options["file"]
        try:
            body = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        except OSError as exc:
            self.stderr.write(f"cannot read {path}: {exc.strerror}")
            sys.exit(1)
        outcome = order_request_process(body=body, channel=InboundChannel.CLI, sender="manage.py submit_order_request")
        for event in outcome.events:
            self.stdout.write(json.dumps(event))
        if not outcome.success:
            self.stderr.write(outcome.error)
            sys.exit(1)
