"""Operations shared by migrations. Kept small and stable: migrations import them by path."""
from django.db import migrations


def _postgresql_index_functions(indexes: list[tuple[str, str, str]]):
    def create(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for name, table, columns in indexes:
                schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {table} ({columns})")

    def drop(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for name, _table, _columns in indexes:
                schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return create, drop


def postgresql_indexes(indexes: list[tuple[str, str, str]]) -> migrations.RunPython:
    """Create ``(name, table, columns SQL)`` indexes on PostgreSQL only (e.g. with an operator
    class such as ``varchar_pattern_ops``, which SQLite does not know); drop them when
    migrating back. On other databases the operation does nothing."""
    create, drop = _postgresql_index_functions(indexes)
    return migrations.RunPython(create, drop, elidable=False)


def postgresql_indexes_dropped(indexes: list[tuple[str, str, str]]) -> migrations.RunPython:
    """The reverse of ``postgresql_indexes``: drop them (an index declared on the model took
    their place), recreate them when migrating back."""
    create, drop = _postgresql_index_functions(indexes)
    return migrations.RunPython(drop, create, elidable=False)


def postgresql_sql(forward: str, backward: str) -> migrations.RunPython:
    """Raw SQL run on PostgreSQL only (storage settings other databases do not have)."""

    def run(sql):
        def apply(apps, schema_editor):
            if schema_editor.connection.vendor == "postgresql":
                schema_editor.execute(sql)
        return apply

    return migrations.RunPython(run(forward), run(backward), elidable=False)


def foreign_key_indexes_drop(indexes: list[tuple[str, str, str]],
                             state_operations: list) -> migrations.SeparateDatabaseAndState:
    """Drop the single-column ``(name, table, column)`` indexes Django made for foreign keys
    (``state_operations``: the fields' ``db_index=False``), keeping the constraints: AlterField
    would drop and re-add each constraint, re-checking the whole table. Migrating back
    recreates the indexes."""
    return migrations.SeparateDatabaseAndState(
        database_operations=[
            migrations.RunSQL(f'DROP INDEX IF EXISTS "{name}"', f'CREATE INDEX "{name}" ON "{table}" ("{column}")')
            for name, table, column in indexes
        ],
        state_operations=state_operations,
    )
