"""List pages' SQL, compiled once per query structure and values.

A list page builds its queryset from the user, the filters and the table's sorting, then Django
compiles it to SQL twice (the page and the capped count): ~1.5 ms of the Order Manager's CPU,
for the same few queries again and again (the first page, a status filter, page 2). ``compiled_once``
marks a queryset so that its compiles are kept: the key is the query's whole state before
compiling (``Query.__dict__`` made hashable: model, joins, the where-tree with its values,
ordering, limits, loaded fields, ...), so two queries share SQL only when Django would compile
them to the same SQL. Whatever cannot be compared by value (an ``Exists`` over another queryset,
an unhashable value) compares by identity: no reuse, never a wrong one.

A hit returns the first compile's SQL and parameters and its row layout; the rows are read as
usual. Unlike ``PreparedQuery`` this needs no stand-in arguments: it works for any filter
combination, at the price of one entry per distinct set of values (an LRU of ``SIZE``).
"""
import copy
import threading
from collections import OrderedDict

from django.db.models import QuerySet
from django.db.models.sql.compiler import (
    SQLAggregateCompiler, SQLCompiler, SQLDeleteCompiler, SQLInsertCompiler, SQLUpdateCompiler,
)
from django.db.models.expressions import Col, Expression
from django.db.models.lookups import Lookup
from django.db.models.sql.datastructures import Join
from django.db.models.sql.where import WhereNode

SIZE = 512
_IGNORED = frozenset({"_annotation_select_cache", "_extra_select_cache", "base_table"})  # caches of the state
# What a compiler's as_sql leaves that reading the rows needs (ModelIterable, results_iter).
_LAYOUT = ("select", "klass_info", "annotation_col_map", "col_count", "has_extra_select")

_OTHER_COMPILERS = (SQLAggregateCompiler, SQLDeleteCompiler, SQLInsertCompiler, SQLUpdateCompiler)
_entries: "OrderedDict[tuple, tuple]" = OrderedDict()
_lock = threading.Lock()
stats = {"hits": 0, "misses": 0, "uncacheable": 0}


def compiled_once(queryset: QuerySet) -> QuerySet:
    """A copy of ``queryset`` whose SELECTs (its own and those of querysets derived from it:
    slices, counts) reuse SQL compiled for an identical query."""
    queryset = queryset.all()
    query = queryset.query
    if not isinstance(query, _CachingQuery):
        query.__class__ = _caching_class(type(query))
    return queryset


_NUMBERS = frozenset({int, bool, float})
_classes: dict = {}


def _caching_class(query_class):
    found = _classes.get(query_class)
    if found is None:
        found = _classes[query_class] = type(f"CompiledOnce{query_class.__name__}", (_CachingQuery, query_class), {})
    return found


class _CachingQuery:
    def get_compiler(self, using=None, connection=None, elide_empty=True):
        compiler = super().get_compiler(using, connection, elide_empty)
        if not isinstance(compiler, SQLCompiler) or isinstance(compiler, _OTHER_COMPILERS):
            return compiler  # updates, deletes, aggregates of this query: as usual
        try:
            state = fingerprint(self)
        except TypeError:
            stats["uncacheable"] += 1
            return compiler
        base_key = (compiler.connection.alias, elide_empty, state)
        compile_sql = compiler.as_sql

        def as_sql(with_limits=True, with_col_aliases=False, **kwargs):
            key = (base_key, with_limits, with_col_aliases, tuple(sorted(kwargs.items())))
            entry = _entries.get(key)
            if entry is not None:
                stats["hits"] += 1
                sql, params, layout = entry
                compiler.__dict__.update(layout)
                with _lock:
                    if key in _entries:
                        _entries.move_to_end(key)
                return sql, params
            stats["misses"] += 1
            sql, params = compile_sql(with_limits=with_limits, with_col_aliases=with_col_aliases, **kwargs)
            layout = {name: copy.copy(compiler.__dict__[name]) for name in _LAYOUT if name in compiler.__dict__}
            with _lock:
                _entries[key] = (sql, tuple(params), layout)
                while len(_entries) > SIZE:
                    _entries.popitem(last=False)
            return sql, params

        compiler.as_sql = as_sql
        return compiler


def fingerprint(query) -> tuple:
    """The query's state as a hashable value; TypeError when some part cannot be made one."""
    state = tuple((name, _hashable(value)) for name, value in sorted(query.__dict__.items()) if name not in _IGNORED)
    hash(state)
    return state


def _hashable(value):
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind in _NUMBERS:  # 1, 1.0 and True are equal in Python, not in SQL parameters
        return kind, value
    if kind is WhereNode:
        return (WhereNode, value.connector, value.negated, tuple(_hashable(child) for child in value.children))
    if kind is Col:
        return (Col, value.alias, value.target, value.output_field)
    if isinstance(value, Lookup) and kind.__init__ is Lookup.__init__:
        # Django compares lookups by (class, lhs, rhs) (Lookup.identity), computed here without
        # the signature binding BaseExpression.identity does for every new expression.
        return (kind, _hashable(value.lhs), _hashable(value.rhs))
    if isinstance(value, Expression):  # Django's identity, with its numbers typed as above
        return ("expression", _hashable(value.identity))
    if isinstance(value, Join):  # its equality leaves out the join type, alias and nullability
        return ("join", value.identity, value.table_alias, value.join_type, value.nullable)
    if isinstance(value, dict):
        return ("dict", tuple(sorted((key, _hashable(item)) for key, item in value.items())))
    if isinstance(value, (set, frozenset)):
        return ("set", frozenset(_hashable(item) for item in value))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_hashable(item) for item in value))
    hash(value)
    return value


def clear() -> None:
    with _lock:
        _entries.clear()
