from django.core.management.base import BaseCommand

from organizations.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Create (or refresh) the demo organizations, sites and one user per role. Idempotent."

    def handle(self, *args, **options):
        logins = seed_demo()
        self.stdout.write("Demo logins (password for all: %s):" % DEMO_PASSWORD)
        for login in logins:
            self.stdout.write(f"  {login.username:<12} {login.role:<28} {login.organization}")
