"""Indexes the portal needs with 100,000 orders (issue 9, bench/web_load.py): the dashboard's
graded-at ranges, and on PostgreSQL a trigram index on the order id for the Order Manager's
search (prefix LIKEs in any case and any collation). SQLite has no trigram indexes: there the
trigram part does nothing (and the extension operation skips itself)."""
from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations, models

TRIGRAM_INDEXES = [("order_local_id_trgm", "orders_order", "local_id")]


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
        ("orders", "0003_import_jobs"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["organization", "graded_at"], name="order_org_graded_idx"),
        ),
        TrigramExtension(),
        migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False),
    ]
