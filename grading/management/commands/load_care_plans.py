from django.core.management.base import BaseCommand

from grading.careplan_defaults import careplan_defaults_load


class Command(BaseCommand):
    help = "Create the missing default care plans and finding rules (existing ones are kept as edited)."

    def handle(self, *args, **options):
        plans, rules = careplan_defaults_load()
        self.stdout.write(f"created {plans} care plans and {rules} rules")
