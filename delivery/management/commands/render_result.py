"""Write one result document of an order to a file (SPEC section 8):

    manage.py render_result --client-guid G --order LOCAL_ID --format pdf|html|json|csv|cda|oru|mdm|dft --out FILE

The stored document of the order's latest result set is written as it was generated (results are
immutable); a kind it lacks, or ``--fresh``, is rendered now from the current grading without
storing anything. Exit 0 on success, 1 when the order or its grading is not found, 2 when no
renderer exists for the format (the HL7 formats arrive with the HL7 issue)."""
import sys
import uuid

from django.core.management.base import BaseCommand, CommandError

from delivery.models import ResultSet
from delivery.results.context import result_context_build, result_context_stored
from delivery.results.renderers import HL7_KINDS, RendererNotAvailable, renderer_get
from grading.models import Grading
from orders.models import Order
from organizations.models import Organization

FORMATS = ("pdf", "html", "json", "csv", "cda", *HL7_KINDS)


class Command(BaseCommand):
    help = "Write a result document (pdf, html, json, csv, cda, oru, mdm, dft) of an order to a file."

    def add_arguments(self, parser):
        parser.add_argument("--client-guid", required=True)
        parser.add_argument("--order", required=True, help="The order's LocalId.")
        parser.add_argument("--format", required=True, choices=FORMATS)
        parser.add_argument("--out", required=True, help="Output file, or - for standard output.")
        parser.add_argument("--fresh", action="store_true",
                            help="Render from the current grading, ignore stored results.")
        parser.add_argument("--without-document", action="store_true",
                            help="json: leave ResultsDocument empty instead of embedding the PDF.")

    def handle(self, *args, **options):
        kind = options["format"]
        try:
            renderer_get(kind)
        except RendererNotAvailable:
            message = f"format '{kind}' is not available yet"
            if kind in HL7_KINDS:
                message += " (HL7 renderers come with the HL7 issue)"
            self.stderr.write(message)
            sys.exit(2)
        order = self._order(options["client_guid"], options["order"])
        content = None if options["fresh"] or options["without_document"] else self._stored(order, kind)
        if content is None:
            content = self._render(order, kind, embed_document=not options["without_document"])
        self._write(options["out"], content)

    def _order(self, client_guid: str, local_id: str) -> Order:
        try:
            guid = uuid.UUID(client_guid)
        except ValueError:
            raise CommandError(f"--client-guid: '{client_guid}' is not a GUID") from None
        organization = Organization.objects.filter(client_guid=guid).first()
        if organization is None:
            raise CommandError(f"--client-guid: no organization with ClientGuid {client_guid}")
        order = Order.objects.filter(organization=organization, local_id=local_id).first()
        if order is None:
            raise CommandError(f"--order: no order '{local_id}' in {organization.name}")
        return order

    def _stored(self, order: Order, kind: str) -> bytes | None:
        result_set = ResultSet.objects.filter(order=order).order_by("-created_at", "-id").first()
        if result_set is None:
            return None
        return result_context_stored(result_set).artifact(kind)

    def _render(self, order: Order, kind: str, *, embed_document: bool) -> bytes:
        grading = Grading.objects.filter(order=order, superseded=False).first()
        if grading is None:
            raise CommandError(f"--order: order '{order.local_id}' is not graded ({order.status}); no results yet")
        context = result_context_build(grading_id=grading.pk, result_code=grading.result_code)
        context.embed_document = embed_document
        return context.artifact(kind)

    def _write(self, out: str, content: bytes) -> None:
        if out == "-":
            sys.stdout.buffer.write(content)
            sys.stdout.buffer.flush()
            return
        with open(out, "wb") as handle:
            handle.write(content)
        self.stderr.write(f"wrote {len(content):,} bytes to {out}")
