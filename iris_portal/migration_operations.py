"""Operations shared by migrations. Kept small and stable: migrations import them by path."""
from django.db import migrations


def postgresql_indexes(indexes: list[tuple[str, str, str]]) -> migrations.RunPython:
    """Create ``(name, table, columns SQL)`` indexes on PostgreSQL only (e.g. with an operator
    class such as ``varchar_pattern_ops``, which SQLite does not know); drop them when
    migrating back. On other databases the operation does nothing."""

    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for name, table, columns in indexes:
                schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for name, _table, _columns in indexes:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(create, drop, elidable=False)
