import json
import sys
import uuid

from django.core.management.base import BaseCommand

from orders.models import Order
from orders.services.images import image_attach
from organizations.models import Organization


class Command(BaseCommand):
    help = ("Attach an image file (JPEG or PNG) to an order; prints each emitted event as one JSON line. "
            "Exit 0 when attached, 1 when rejected.")

    def add_arguments(self, parser):
        parser.add_argument("--client-guid", required=True, help="the organization's ClientGuid")
        parser.add_argument("--order", required=True, help="the order's LocalId")
        parser.add_argument("--laterality", required=True, choices=["OD", "OS", "OU"], type=str.upper)
        parser.add_argument("--image-context", default="Primary", help="IRIS image context (default Primary)")
        parser.add_argument("--local-id", default=None, help="the image's own LocalId, if any")
        parser.add_argument("file", help="path to the image file")

    def handle(self, *args, **options):
        try:
            guid = uuid.UUID(options["client_guid"])
        except ValueError:
            return self._fail(f"--client-guid: '{options['client_guid']}' is not a GUID")
        organization = Organization.objects.filter(client_guid=guid, is_active=True).first()
        if organization is None:
            return self._fail(f"--client-guid: unknown ClientGuid '{options['client_guid']}'")
        order = Order.objects.filter(organization=organization, local_id=options["order"]).first()
        if order is None:
            return self._fail(f"--order: no order '{options['order']}' in this organization")
        try:
            handle = open(options["file"], "rb")
        except OSError as exc:
            return self._fail(f"cannot read {options['file']}: {exc.strerror}")
        with handle:
            outcome = image_attach(order=order, file=handle, laterality=options["laterality"],
                                   image_context=options["image_context"], local_id=options["local_id"])
        for event in outcome.events:
            self.stdout.write(json.dumps(event))
        if not outcome.success:
            self._fail(outcome.error)

    def _fail(self, message: str):
        self.stderr.write(message)
        sys.exit(1)
