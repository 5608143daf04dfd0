import json

from django.core.management.base import BaseCommand

from orders.intake.csv.dropfolder import dropfolder_claim_all
from orders.intake.csv.job import import_job_run, import_job_summary


class Command(BaseCommand):
    help = ("Import every new file of every organization's drop folder (dropbox/<client_guid>/incoming/ in the "
            "default storage) now, in this process (for cron; with a Celery worker, beat runs the same scan). "
            "Files are moved to processed/ or failed/ with their report beside them. Prints one JSON line per "
            "file: {\"file\", \"import_job\", \"status\", \"created\", \"updated\", \"failed\"}.")

    def handle(self, *args, **options):
        for job in dropfolder_claim_all():
            job = import_job_run(job.pk)
            summary = import_job_summary(job)
            self.stdout.write(json.dumps({"file": job.original_name, "import_job": job.pk, "status": job.status,
                                          "created": summary["created"], "updated": summary["updated"],
                                          "failed": summary["failed"]}))
