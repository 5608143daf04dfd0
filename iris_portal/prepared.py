"""Querysets of a fixed shape, compiled to SQL once per process.

Turning a queryset into SQL costs Django more than running it: on the order page the seven
SELECTs took ~10 ms of compiling (a third of the page's CPU) and ~3 ms of executing. A query
whose SQL differs only in a few values (an order's id) can be compiled once and run again with
other values: ``PreparedQuery`` does that, and turns rows into objects as Django's
``ModelIterable`` does (``select_related`` objects, converters, annotations) with what it works
out from the compiled query kept too (``_RowLoader``), then ``prefetch_related_objects``.

    events_of_order = PreparedQuery(
        lambda order_id: OrderEvent.objects.filter(order_id=order_id).order_by("timestamp", "pk"),
        prefetch=("actor",))
    events = events_of_order(order_id=order.pk)  # a list of OrderEvent

On PostgreSQL the SQL also runs as a server-side prepared statement (``prepared_rows``): the
order page's query joins nine tables and PostgreSQL spent ~1 ms planning it on every request,
three times its execution.

The builder must be a function of its keyword arguments only (no request, no clock): it is
called once, with stand-in values, to find where each argument goes among the SQL parameters.
Arguments are integers or strings and must reach the SQL unchanged (equality lookups); anything
else is refused when the query is first compiled. The result is a list, not a queryset, so
that nobody chains a filter the cached SQL would not have.
"""
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple

import psycopg
from django.conf import settings
from django.db import connections
from django.db.models import QuerySet, prefetch_related_objects
from django.db.models.query import ModelIterable, get_related_populators

_INT_STAND_IN = 1_900_000_000  # stand-ins must not be inlined in the SQL: checked when compiling
_STR_STAND_IN = "\x00prepared-{}\x00"


class PreparedQuery:
    instances: "list[PreparedQuery]" = []  # every one made (a test compares each with Django's SQL)

    def __init__(self, build: Callable[..., QuerySet], *, prefetch: Iterable[str] = ()):
        PreparedQuery.instances.append(self)
        self.build = build
        self.prefetch = tuple(prefetch)
        self._compiled: dict[tuple, _Compiled] = {}  # argument names and types -> compiled query
        self._lock = threading.Lock()

    def __call__(self, **arguments) -> list:
        compiled, params = self._compiled_for(arguments)
        connection = connections[compiled.db]  # this thread's connection
        loader = compiled.loader
        rows = loader.load(connection, prepared_rows(connection, compiled.sql, params, loader.width))
        if self.prefetch and rows:
            prefetch_related_objects(rows, *self.prefetch)
        return rows

    def sql(self, **arguments) -> tuple[str, tuple]:
        """The SQL and parameters this runs (tests compare them with Django's own)."""
        compiled, params = self._compiled_for(arguments)
        return compiled.sql, params

    def _compiled_for(self, arguments: dict) -> "tuple[_Compiled, tuple]":
        for name, value in arguments.items():
            if type(value) not in (int, str):
                raise TypeError(f"PreparedQuery argument {name}={value!r}: only int and str values")
        shape = tuple(sorted((name, type(value).__name__) for name, value in arguments.items()))
        compiled = self._compile(shape, arguments)
        return compiled, tuple(arguments[name] if name else value for name, value in compiled.slots)

    def _compile(self, shape: tuple, arguments: dict):
        compiled = self._compiled.get(shape)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(shape) or self._compile_once(arguments)
                self._compiled[shape] = compiled
        return compiled

    def _compile_once(self, arguments: dict):
        stand_ins = {name: (_INT_STAND_IN + index if type(value) is int else _STR_STAND_IN.format(index))
                     for index, (name, value) in enumerate(sorted(arguments.items()))}
        queryset = self.build(**stand_ins)
        if queryset._prefetch_related_lookups or queryset._iterable_class is not ModelIterable:
            raise ValueError("PreparedQuery builds a plain model queryset; give prefetch= instead")
        if queryset._known_related_objects:
            raise ValueError("PreparedQuery builds a plain model queryset (no related manager's)")
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()
        if compiler.has_composite_fields([column[0] for column in compiler.select[:compiler.col_count]]):
            raise ValueError("PreparedQuery does not load composite primary keys")
        names = {value: name for name, value in stand_ins.items()}
        # Per parameter: (the argument that fills it, None) or (None, the value the builder fixed).
        slots = tuple((names[param], None) if _is_hashable(param) and param in names else (None, param)
                      for param in params)
        missing = set(stand_ins) - {name for name, _ in slots}
        if missing or any(str(value) in sql for value in stand_ins.values()):
            raise ValueError(f"PreparedQuery: arguments {sorted(missing) or sorted(stand_ins)} do not reach the "
                             "SQL as parameters unchanged")
        return _Compiled(queryset.db, sql, slots, _RowLoader(compiler, queryset.db))


class _Compiled(NamedTuple):
    """One shape of a PreparedQuery: its database, SQL, where each parameter comes from, and how
    its rows become objects."""

    db: str
    sql: str
    slots: tuple
    loader: "_RowLoader"


class _RowLoader:
    """What ``ModelIterable`` works out from a compiled query before reading its rows (the
    columns each model takes, the converters, the populators of ``select_related`` objects),
    worked out once: per call it cost about as much as running the query. Then, per row, what
    ModelIterable does: converters, ``from_db``, related objects, annotations."""

    def __init__(self, compiler, db: str):
        select, klass_info = compiler.select, compiler.klass_info
        self.db = db
        self.model = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start:self.end]]
        self.populators = get_related_populators(klass_info, select, db)
        self.annotations = tuple(compiler.annotation_col_map.items())
        self.converters = compiler.get_converters([column[0] for column in select[:compiler.col_count]])
        self.width = compiler.col_count if compiler.has_extra_select else None

    def load(self, connection, rows: list) -> list:
        converters, start, end, init_list = self.converters, self.start, self.end, self.init_list
        from_db, db = self.model.from_db, self.db
        objects = []
        for row in rows:
            if converters:
                row = list(row)
                for position, (functions, expression) in converters.items():
                    value = row[position]
                    for function in functions:
                        value = function(value, expression, connection)
                    row[position] = value
            obj = from_db(db, init_list, row[start:end])
            for populator in self.populators:
                populator.populate(row, obj)
            for name, position in self.annotations:
                setattr(obj, name, row[position])
            objects.append(obj)
        return objects


def _is_hashable(value) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def prepared_rows(connection, sql: str, params: Sequence, width: int | None = None) -> list[tuple]:
    """Run a statement that returns rows (SELECT, INSERT ... RETURNING) and whose text repeats,
    as a server-side prepared statement on PostgreSQL: parsed and planned once per database
    connection instead of once per request. Other databases, and connections with execute
    wrappers (which expect Django's cursor), run it through Django's cursor. ``width``: keep
    only that many leading columns.

    Django's query log (``assertNumQueries``, ``CaptureQueriesContext``, DEBUG) records it like
    any query. With ``DB_PREPARED_STATEMENTS=0`` (``settings.IRIS_PREPARED_STATEMENTS``, e.g.
    behind a PgBouncer older than 1.21 in transaction mode) the statement runs unprepared."""
    if connection.vendor != "postgresql" or connection.execute_wrappers:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall() if cursor.description else []
    else:
        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        started = time.monotonic()
        raw = connection.connection
        # Django leaves psycopg's prepare_threshold at None (no prepared statements), which also
        # spares every other query psycopg's bookkeeping (with a threshold set, it keeps the text
        # of the last 100 queries: megabytes for a bulk import's). It is set only for this call.
        threshold = raw.prepare_threshold
        if threshold is None and settings.IRIS_PREPARED_STATEMENTS:
            raw.prepare_threshold = 0
        try:
            with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
                cursor.execute(sql, params, prepare=True)
                rows = cursor.fetchall()  # (not ``description``: building it cost more than the fetch)
        finally:
            raw.prepare_threshold = threshold
        if connection.queries_logged:
            connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return [row[:width] for row in rows] if width is not None else rows


def prepared_insert(instance) -> None:
    """``instance.save(force_insert=True)`` for a new row of a model without save signals, as one
    prepared ``INSERT ... RETURNING`` on PostgreSQL (every page writes its audit row: ~0.6 ms
    through ``Model.save``). Field defaults, ``auto_now_add`` and value preparation are the
    fields' own (``pre_save``, ``get_db_prep_save``); anything else takes ``save``."""
    from django.db import router
    from django.db.models.signals import post_save, pre_save

    model = type(instance)
    connection = connections[router.db_for_write(model, instance=instance)]
    if (connection.vendor != "postgresql" or pre_save.has_listeners(model) or post_save.has_listeners(model)
            or not instance._state.adding or instance.pk is not None):
        instance.save(force_insert=True)
        return
    fields, sql = _insert_sql(model, connection.ops.quote_name)
    params = [field.get_db_prep_save(field.pre_save(instance, True), connection) for field in fields]
    (pk,), = prepared_rows(connection, sql, params)
    instance.pk = pk
    instance._state.adding, instance._state.db = False, connection.alias


_INSERTS: dict = {}


def _insert_sql(model, quote) -> tuple[list, str]:
    found = _INSERTS.get(model)
    if found is None:
        meta = model._meta
        fields = [field for field in meta.concrete_fields if field is not meta.auto_field]
        columns = ", ".join(quote(field.column) for field in fields)
        found = _INSERTS[model] = (fields, f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES "
                                           f"({', '.join(['%s'] * len(fields))}) RETURNING {quote(meta.pk.column)}")
    return found
