"""Trigram indexes for the portal's patient search (issue 9): the Order Manager and the patient
list look patients up by the start of their last name or MRN; with 50,000 patients an OR of
prefix LIKEs scanned them all. PostgreSQL only (SQLite has no trigram indexes). The pg_trgm
extension is created by orders 0004 (a dependency, so that migrating back drops these indexes
before the extension)."""
from django.db import migrations

TRIGRAM_INDEXES = [("patient_last_name_trgm", "patients_patient", "last_name"),
                   ("patient_local_id_trgm", "patients_patient", "local_id")]


def create_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, table, column in TRIGRAM_INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ({column} gin_trgm_ops)")


def drop_trigram_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _table, _column in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):

    dependencies = [
        ("patients", "0001_initial"),
        ("orders", "0004_portal_indexes"),
    ]

    operations = [
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
