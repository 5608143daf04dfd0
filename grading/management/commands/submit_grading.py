import json
import sys

from django.core.management.base import BaseCommand, CommandError

from grading.submission import grading_submission_process
from orders.models import InboundChannel
from organizations.models import User


class Command(BaseCommand):
    help = ("Process one GradingSubmission JSON (a file, or - for standard input); prints each emitted "
            "event as one JSON line. Exit 0 when accepted, 1 when rejected. Graded by the registered AI "
            "service account unless --grader names a (licensed) grader.")

    def add_arguments(self, parser):
        parser.add_argument("file", help="path to the JSON file, or - for standard input")
        parser.add_argument("--grader", help="user name of the grader (default: the AI service account)")

    def handle(self, *args, **options):
        path = options["file"]
        grader = None
        if options.get("grader"):
            grader = User.objects.filter(username=options["grader"], is_active=True).first()
            if grader is None:
                raise CommandError(f"no active user '{options['grader']}'")
        try:
            body = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
        except OSError as exc:
            self.stderr.write(f"cannot read {path}: {exc.strerror}")
            sys.exit(1)
        outcome = grading_submission_process(body=body, channel=InboundChannel.CLI,
                                             sender="manage.py submit_grading", grader=grader)
        for event in outcome.events:
            self.stdout.write(json.dumps(event))
        if not outcome.success:
            self.stderr.write(outcome.error)
            sys.exit(1)
