"""Base table (django-tables2) with default columns and a per-user column chooser.

A table declares every column it can show and ``default_columns``; the user's choice is kept in
the session under the table's ``chooser_key`` (set through ``iris_portal.views.table_columns``).

Speed (list pages must stay fast, see bench/web_load.py): django-tables2 inspects the signature
of a render function for every cell and compiles a template per cell for its date columns; here
signatures are cached, dates are formatted directly, cells are made by a maker per column
(``table_cells``) with their attributes computed once per column (``body_rows``), and the rows
are joined in Python (``body_html``), which makes a 25-row page several times faster."""
import copy
import html
import types
import weakref
from collections import OrderedDict
from functools import cached_property, lru_cache

import django_tables2 as tables
import django_tables2.utils as tables_utils
from django.core.paginator import Paginator
from django.utils import formats, timezone
from django.utils.http import urlencode
from django.utils.safestring import mark_safe

from .escaping import html_text
from .table_cells import cell_makers

_signature = tables_utils.signature


@lru_cache(maxsize=4096)
def _cached_signature(function, bound: bool):
    return _signature(function.__get__(object()) if bound else function)


def signature(fn):
    """django-tables2's ``signature``, cached per function (bound methods share their function's)."""
    function = getattr(fn, "__func__", None)
    try:
        return _cached_signature(function, True) if function is not None else _cached_signature(fn, False)
    except TypeError:  # unhashable callables
        return _signature(fn)


tables_utils.signature = signature


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows (``COUNT`` over a ``LIMIT``): an exact count of 100,000 orders
    costs a scan of them all on every page view, and a filter no index serves (site and status,
    exam and channel) a scan of up to ``cap`` rows: past the cap the page shows "1,000+" (pages past
    the last counted one are not offered; filters narrow a list faster than paging through it)."""

    cap = 1_000

    @cached_property
    def count(self) -> int:
        # django-tables2 hands over its rows; count their queryset, not the rows (a full COUNT).
        queryset = getattr(getattr(self.object_list, "data", None), "data", self.object_list)
        counted = queryset.order_by()[: self.cap + 1].count() if hasattr(queryset, "query") else len(queryset)
        self.capped = counted > self.cap
        return min(counted, self.cap)

    @property
    def count_label(self) -> str:
        return f"{self.count:,}+" if self.count and getattr(self, "capped", False) else f"{self.count:,}"


class DateTimeColumn(tables.Column):
    """A date/time in the current time zone, formatted without a per-cell template."""

    def __init__(self, *args, format: str = "Y-m-d H:i", **kwargs):  # noqa: A002 - tables2's name
        self.format = format
        self.strftime = _strftime_pattern(format)
        super().__init__(*args, **kwargs)

    def render(self, value):
        if hasattr(value, "tzinfo") and value.tzinfo is not None:
            value = timezone.localtime(value)
        if self.strftime and 1000 <= value.year:  # strftime pads years < 1000 differently
            return value.strftime(self.strftime)
        return formats.date_format(value, self.format)


# Django date-format characters that are plain numbers in every language, as strftime codes.
_NUMERIC_FORMAT = {"Y": "%Y", "m": "%m", "d": "%d", "H": "%H", "i": "%M", "s": "%S"}


def _strftime_pattern(django_format: str) -> str:
    """The strftime pattern for a numeric-only Django date format ("Y-m-d H:i"), or "" when the
    format has a character that needs Django's formatter (names, escapes, locale)."""
    pattern = []
    for char in django_format:
        if char in _NUMERIC_FORMAT:
            pattern.append(_NUMERIC_FORMAT[char])
        elif char.isalpha() or char == "\\":
            return ""
        else:
            pattern.append(char.replace("%", "%%"))
    return "".join(pattern)


class DateColumn(DateTimeColumn):
    def __init__(self, *args, format: str = "Y-m-d", **kwargs):  # noqa: A002 - tables2's name
        super().__init__(*args, format=format, **kwargs)

COLUMNS_SESSION_KEY = "portal_table_columns"
_registry: dict[str, type["PortalTable"]] = {}


def table_by_key(key: str) -> type["PortalTable"] | None:
    return _registry.get(key)


class PortalTable(tables.Table):
    default_columns: tuple[str, ...] = ()
    # Tables that set ``fetch_only_shown`` are fetched with only the fields and joins their shown
    # columns read (``only()`` and ``select_related()``; the Order Manager read 92 columns of 5
    # tables a row for 8 cells). A column reads its accessor's field, or what ``column_reads``
    # names for it (a render function reading several fields). A field missing from these is
    # fetched per row, a query each, which the query-count tests with every column shown catch.
    fetch_only_shown = False
    column_reads: dict[str, tuple[str, ...]] = {}
    # Columns always shown (the link to the object), not offered in the chooser.
    required_columns: tuple[str, ...] = ()

    class Meta:
        attrs = {"class": "table table-hover table-sm align-middle mb-0 portal-table"}
        template_name = "portal/table.html"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._refer_back_weakly()

    def _refer_back_weakly(self) -> None:
        """django-tables2's parts refer back to their table (its data, rows, bound columns, and
        the table's own ``render_<column>`` methods bound on each column): reference cycles, so
        a rendered table and all it showed waited for the cyclic collector. A weak proxy of the
        table there instead lets reference counting free it when the page is done."""
        table = weakref.proxy(self)
        self.data.table = self.rows.table = self.columns._table = table
        for bound_column in self.columns.columns.values():
            bound_column._table = table
            for name in ("render", "value", "order"):
                method = getattr(bound_column, name, None)
                if getattr(method, "__self__", None) is self:
                    setattr(bound_column, name, types.MethodType(method.__func__, table))

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        _registry[cls.chooser_key()] = cls
        for name, column in cls.base_columns.items():
            if not column.accessor:  # what BoundColumn would set on every table's copy
                column.accessor = tables.A(name)
        cls.base_columns = _ColumnsCopiedFlat(cls.base_columns)

    @classmethod
    def chooser_key(cls) -> str:
        return f"{cls.__module__.split('.')[0]}.{cls.__name__}"

    @classmethod
    def chosen_columns(cls, session) -> tuple[str, ...]:
        saved = (session.get(COLUMNS_SESSION_KEY) or {}).get(cls.chooser_key())
        return tuple(saved) if saved else cls.default_columns

    def apply_column_choice(self, session) -> None:
        chosen = set(self.chosen_columns(session)) | set(self.required_columns)
        if not chosen - set(self.required_columns):
            return
        for name in self.columns.names():
            if name in chosen:
                self.columns.show(name)
            else:
                self.columns.hide(name)

    def fields_read(self) -> list[str]:
        """The model fields (``relation__field`` paths) the shown columns read."""
        fields = []
        for column in self.columns:
            fields.extend(self.column_reads.get(column.name) or (column.accessor,))
        return fields

    def fetch_only_shown_fields(self) -> None:
        """Narrow the table's queryset to what its shown columns read (``fetch_only_shown``)."""
        if not self.fetch_only_shown:
            return
        fields = self.fields_read()
        relations = sorted({path.rsplit("__", 1)[0] for path in fields if "__" in path})
        self.data.data = self.data.data.select_related(None).select_related(*relations).only(*fields)

    def body_rows(self):
        """[(td attributes, cell)] per row of the page, with attributes and the way to make each
        column's cells worked out once per column (``table_cells``; per-record ``td`` attributes
        are not supported)."""
        columns = [(maker, maker.bound_column.attrs.get("td", {}).as_html()) for maker in cell_makers(self)]
        for row in self.paginated_rows:
            record = row.record
            yield [(attrs, maker(record, row)) for maker, attrs in columns]
            # A row and its cell accessor refer to each other: left so, every row and its
            # record (with its related objects) waited for the cyclic collector.
            row.__dict__.pop("cells", None)

    def header_html(self) -> str:
        """The header row's ``<th>`` cells, sort links included, as django-tables2's template
        writes them (``querystring_replace`` per column was a fifth of the list page)."""
        request = getattr(self, "request", None)
        params = dict(request.GET) if request is not None else {}
        parts = []
        for column in self.columns:
            header = html_text(column.header)
            if column.orderable:
                params[self.prefixed_order_by_field] = column.order_by_alias.next
                header = f'<a href="{html.escape("?" + urlencode(params, doseq=True))}">{header}</a>'
            parts.append(f'<th {column.attrs["th"].as_html()} scope="col">{header}</th>')
        return mark_safe("".join(parts))

    def pager_html(self) -> str:
        """The pager's ``<li>`` items (previous, django-tables2's page range, next), as the
        template wrote them with a ``querystring_replace`` per link."""
        from django_tables2.templatetags.django_tables2 import table_page_range

        request = getattr(self, "request", None)
        params = dict(request.GET) if request is not None else {}
        page = self.page

        def href(number) -> str:
            params[self.prefixed_page_field] = number
            return html.escape("?" + urlencode(params, doseq=True))

        items = []
        if page.has_previous():
            items.append(f'<li class="page-item"><a class="page-link" href="{href(page.previous_page_number())}" '
                         'rel="prev">&laquo; Previous</a></li>')
        for number in table_page_range(page, self.paginator):
            css = " active" if number == page.number else " disabled" if number == "..." else ""
            link = "" if number == "..." else f'href="{href(number)}"'
            items.append(f'<li class="page-item{css}"><a class="page-link" {link}>{html_text(number)}</a></li>')
        if page.has_next():
            items.append(f'<li class="page-item"><a class="page-link" href="{href(page.next_page_number())}" '
                         'rel="next">Next &raquo;</a></li>')
        return mark_safe("\n".join(items))

    def body_html(self) -> str:
        """The page's ``<tr>`` rows as one string, escaped as ``{{ cell }}`` would be: a template
        loop over 25 rows x 8 cells cost more than producing the cells."""
        parts = []
        for cells in self.body_rows():
            parts.append("<tr>")
            for attrs, cell in cells:
                parts.append(f"<td {attrs}>" if attrs else "<td>")
                parts.append(html_text(formats.localize(cell)))
                parts.append("</td>")
            parts.append("</tr>\n")
        return mark_safe("".join(parts))

    def chooser(self) -> list[tuple[str, str, bool]]:
        """(name, header, shown) for the column chooser, in table order."""
        return [(column.name, column.header, column.visible) for column in self.columns.iterall()
                if column.name not in self.required_columns]


class _ColumnsCopiedFlat(OrderedDict):
    """A table class's columns. django-tables2 deep-copies them for every table made (so that
    ``columns.hide()`` on one table does not reach the class): ~0.5 ms of every list page, for
    objects whose only per-table change is an attribute assignment (``visible``). A copy of each
    column and of its ``attrs`` dictionaries does the same."""

    def __deepcopy__(self, memo):
        return OrderedDict((name, _column_copy(column)) for name, column in self.items())


def _column_copy(column):
    new = copy.copy(column)
    if isinstance(column.attrs, dict):
        new.attrs = copy.copy(column.attrs)
        for key, value in column.attrs.items():
            if isinstance(value, dict):
                new.attrs[key] = copy.copy(value)
    return new


def save_column_choice(session, key: str, names: list[str]) -> bool:
    """Keep a user's column choice (only names the table has); an empty choice resets."""
    table = table_by_key(key)
    if table is None:
        return False
    known = [name for name in table.base_columns if name not in table.required_columns]
    chosen = [name for name in known if name in names]
    prefs = dict(session.get(COLUMNS_SESSION_KEY) or {})
    if chosen:
        prefs[key] = chosen
    else:
        prefs.pop(key, None)
    session[COLUMNS_SESSION_KEY] = prefs
    return True
