import json
import sys
import uuid
from pathlib import Path

from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from orders.intake.csv.job import import_job_create, import_job_run, import_job_summary
from orders.models import ImportSource, ImportStatus
from organizations.selectors import organization_by_client_guid


class Command(BaseCommand):
    help = ("Import orders from a CSV or XLSX file for the organization with this ClientGuid (the file is kept "
            "as an import job). Prints one JSON line: {\"created\", \"updated\", \"failed\", \"errors\": "
            "[{\"row\", \"column\", \"message\"}]}. \"updated\" counts rows that addressed an existing order "
            "(XO, CA, or a duplicate of an order already imported). Exit 0 when the file was read, 1 when it "
            "was refused or could not be imported.")

    def add_arguments(self, parser):
        parser.add_argument("--client-guid", required=True, help="the organization's ClientGuid")
        parser.add_argument("file", help="path to the .csv or .xlsx file")

    def handle(self, *args, **options):
        try:
            guid = uuid.UUID(options["client_guid"])
        except ValueError:
            raise CommandError(f"--client-guid: '{options['client_guid']}' is not a GUID") from None
        organization = organization_by_client_guid(guid)
        if organization is None:
            raise CommandError(f"--client-guid: no active organization has ClientGuid {guid}")
        path = Path(options["file"])
        try:
            with path.open("rb") as fh:
                job = import_job_create(organization=organization, content=File(fh, name=path.name),
                                        name=path.name, source=ImportSource.COMMAND)
        except OSError as exc:
            raise CommandError(f"cannot read {path}: {exc.strerror}") from None
        job = import_job_run(job.pk)
        self.stdout.write(json.dumps(import_job_summary(job)))
        if job.status != ImportStatus.DONE:
            sys.exit(1)
