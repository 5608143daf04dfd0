"""Table cells made the way django-tables2's ``BoundRow.get_cell`` makes them, with the per-cell
work done once per column.

django-tables2 works out, for every cell, what it could work out once per column: the accessor's
path and model field (to use ``get_FOO_display`` for choices), which keyword arguments the render
function takes (signature inspection), and the link's ``reverse()``. On a 25-row Order Manager
page that was most of the page's CPU time (bench/web_profile.py). A ``CellMaker`` per visible
column does that work once and then makes each cell with a few attribute reads; anything it does
not know how to do fast (records that are not model instances, link columns, callable link URLs,
render functions that want the ``BoundRow``) goes to ``get_cell`` itself, so the output is the
same in every case (``tests/portal/test_table_cells.py`` compares the two on every table).
"""
import inspect
import re
from functools import lru_cache, partialmethod

from django.conf import settings
from django.db import models
from django.urls import get_script_prefix, get_urlconf, reverse
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable
from django.utils.safestring import SafeString
from django_tables2 import utils as tables_utils
from django_tables2.columns import ManyToManyColumn
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.rows import BoundRow
from django_tables2.utils import Accessor

from .escaping import html_text

_ARGUMENTS = ("value", "record", "column", "bound_column", "table")
# Stand-ins for URL keyword arguments: a URL reversed with them once becomes a template that
# takes each row's integer values.
_SENTINEL = 987_654_320


class CellMaker:
    """Makes one column's cells; ``__call__(record, row)`` returns what ``get_cell`` would."""

    def __init__(self, table, bound_column):
        self.table = table
        self.bound_column = bound_column
        self.name = bound_column.name
        column = bound_column.column
        self.column = column
        self.empty_values = column.empty_values
        accessor = Accessor(bound_column.accessor)
        self.bits = accessor.bits
        self.callable_args, self.callable_kwargs = accessor.callable_args, accessor.callable_kwargs
        model = getattr(getattr(table, "_meta", None), "model", None)
        field = accessor.get_field(model) if model is not None and self.bits else None
        # get_FOO_display() when the last step is a field with choices (django-tables2 issue #30);
        # Django's own get_FOO_display is a dictionary lookup, done here with the dictionary
        # built once instead of once per cell.
        self.display = f"get_{self.bits[-1]}_display" if getattr(field, "choices", None) else ""
        self.display_choices = None
        if self.display and _generated_display(field.model, self.display):
            self.display_choices = dict(make_hashable(field.flatchoices))
            self.choices_model = field.model._meta.concrete_model
        render = bound_column.render
        self.render = render
        try:
            wanted = tables_utils.signature(render)  # cached by iris_portal.tables
        except (TypeError, ValueError):
            wanted = None
        self.link = bound_column.link
        self.url_template = self._url_template(self.link)
        # A render function taking **kwargs or bound_row gets them from django-tables2 itself.
        self.fast = (wanted is not None and wanted[1] is None and "bound_row" not in wanted[0]
                     and not isinstance(column, (BaseLinkColumn, ManyToManyColumn))
                     and (self.link is None or self.url_template is not None))
        self.arguments = tuple(name for name in _ARGUMENTS if wanted and name in wanted[0])

    @staticmethod
    def _url_template(link):
        """([literal pieces], [accessors between them]) for a plain ``linkify=(viewname, {kwargs})``
        with no ``<a>`` attributes; None when the link needs django-tables2's own code."""
        if link is None or link.url is not None or link.attrs:
            return None
        args = link.reverse_args
        viewname, kwargs = args.get("viewname"), args.get("kwargs")
        if not isinstance(viewname, str) or set(args) - {"viewname", "kwargs"} or not kwargs:
            return None
        if not all(isinstance(value, Accessor) for value in kwargs.values()):
            return None
        template = _url_with_stand_ins(viewname, tuple(kwargs), get_urlconf() or settings.ROOT_URLCONF,
                                       get_script_prefix())
        if template is None:
            return None
        # The URL cut at its stand-ins, in the order they appear: literal pieces and, between
        # them, the accessor whose value goes there (one pass, so a value cannot be mistaken
        # for another stand-in).
        accessors = {str(_SENTINEL + index): accessor for index, accessor in enumerate(kwargs.values())}
        pieces = re.split(f"({'|'.join(accessors)})", template)
        return pieces[0::2], [accessors[stand_in] for stand_in in pieces[1::2]]

    def _value(self, record):
        current = record
        bits = self.bits
        last = len(bits) - 1
        for index, bit in enumerate(bits):
            if index == last and self.display and isinstance(current, models.Model):
                if self.display_choices is not None and type(current)._meta.concrete_model is self.choices_model:
                    value = getattr(current, bit)
                    return force_str(self.display_choices.get(make_hashable(value), value), strings_only=True)
                display = getattr(current, self.display, None)
                if display is not None:
                    return display()
            current = getattr(current, bit)
            if callable(current):
                if getattr(current, "alters_data", False):
                    raise ValueError(f"Refusing to call {bit}() because `.alters_data = True`")
                if not getattr(current, "do_not_call_in_templates", False):
                    current = current(*self.callable_args, **self.callable_kwargs)
            if current is None:
                break
        return current

    def _href(self, record):
        literals, accessors = self.url_template
        parts = [literals[0]]
        for accessor, literal in zip(accessors, literals[1:]):
            value = accessor.resolve(record)
            if type(value) is not int:
                return None
            parts += (str(value), literal)
        return "".join(parts)

    def __call__(self, record, row=None):
        if not self.fast or not isinstance(record, models.Model):
            return (row or BoundRow(record, table=self.table)).get_cell(self.name)
        try:
            value = self._value(record)
        except Exception:  # noqa: BLE001 - django-tables2 shows the default for any failed lookup
            value = None
        if value in self.empty_values:
            return self.bound_column.default
        given = {"value": value, "record": record, "column": self.column, "bound_column": self.bound_column,
                 "table": self.table}
        content = self.render(**{name: given[name] for name in self.arguments})
        if self.link is None:
            return content
        href = self._href(record)
        if href is None:  # not an integer key: let django-tables2 reverse it
            return self.link(content, **given)
        return SafeString(f'<a href="{html_text(href)}">{html_text(content)}</a>')


@lru_cache(maxsize=256)
def _url_with_stand_ins(viewname: str, keys: tuple[str, ...], urlconf, script_prefix: str) -> str | None:
    """The view's URL with ``_SENTINEL + i`` for its i-th keyword argument (fixed for a URLconf:
    cached), or None when a stand-in does not appear exactly once in it."""
    template = reverse(viewname, kwargs={key: _SENTINEL + index for index, key in enumerate(keys)})
    if any(template.count(str(_SENTINEL + index)) != 1 for index in range(len(keys))):
        return None
    return template


def _generated_display(model, name: str) -> bool:
    """Whether ``model.<name>`` is the ``get_FOO_display`` Django generates (not one the model
    defines itself)."""
    method = inspect.getattr_static(model, name, None)
    return isinstance(method, partialmethod) and method.func is models.Model._get_FIELD_display


def cell_makers(table) -> list[CellMaker]:
    """One ``CellMaker`` per visible column of ``table``, in display order."""
    return [CellMaker(table, bound_column) for bound_column in table.columns]
