"""Loads the host's default care-plan catalogue (grading/careplan_defaults.py)."""
from django.db import migrations


def load(apps, schema_editor):
    from grading.careplan_defaults import careplan_defaults_load

    careplan_defaults_load(plan_model=apps.get_model("grading", "CarePlan"),
                           rule_model=apps.get_model("grading", "CarePlanRule"))


class Migration(migrations.Migration):
    dependencies = [("grading", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
