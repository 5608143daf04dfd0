"""Base filterset (django-filter): a ``q`` search over ``search_fields`` and a compact
filter bar with Bootstrap widgets."""
import datetime as dt
import threading
from collections import OrderedDict
from functools import reduce
from operator import or_

import django_filters
from crispy_forms.helper import FormHelper
from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language

from .escaping import html_text
from .widgets import fast_widget


class PortalFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Search")
    # Lookups OR-ed together by ``q``, e.g. ("local_id__istartswith", "last_name__istartswith").
    search_fields: tuple[str, ...] = ()
    # Model choice field name -> function(request) returning the objects it offers and accepts,
    # when the page reads them anyway (the site switcher's sites): the choices and the check of
    # a chosen value then cost no query, and the filter's own queryset is never read (declare
    # it as ``Model.objects.none()``: without a request nothing is offered or accepted).
    choice_objects: dict = {}

    def search(self, queryset, name, value):
        value = value.strip()
        if not value or not self.search_fields:
            return queryset
        return queryset.filter(reduce(or_, (Q(**{lookup: value}) for lookup in self.search_fields)))

    def get_form_class(self):
        """django-filter's form class, whose fields are used by one form only: django-filter
        builds the class and its fields for every filterset (so per request), and Django's form
        then deep-copies those fresh fields again (a twentieth of a list page). Same fields."""
        form_class = super().get_form_class()
        form_class.base_fields = _FieldsOfOneForm(form_class.base_fields)
        return form_class

    @property
    def form(self):
        form = super().form
        if not hasattr(form, "helper"):
            helper = FormHelper(form)
            helper.form_tag = False
            helper.disable_csrf = True
            helper.form_show_labels = True
            form.helper = helper
            for field in form.fields.values():
                field.required = False
                field.widget = fast_widget(field.widget)
                _bootstrap_widget(field.widget)
                if isinstance(field, forms.ModelChoiceField):
                    field.iterator = ShortModelChoiceIterator
                    field.widget.choices = field.choices
            for name, objects in self.choice_objects.items():
                if name in form.fields and self.request is not None:
                    _choose_from(form.fields[name], objects(self.request))
        return form

    @classmethod
    def data_from(cls, query):
        """The request's parameters when one of them is a filter's (``status``, ``created_from``,
        a multi-part widget's ``name_0``), else None: a page of the unfiltered list (``?page=2``,
        ``?sort=...``) is an unbound filterset, whose form need not be built to filter nothing."""
        if query and any(cls._filter_key(key) for key in query):
            return query
        return None

    @classmethod
    def _filter_key(cls, key: str) -> bool:
        return any(key == name or key.startswith(f"{name}_") for name in cls.base_filters)

    def fields_html(self) -> str:
        """The filter bar's fields, each in its grid column with label and errors, as the list
        template's loop wrote them (a template loop over eight fields cost as much as their
        widgets). Kept per process for what the markup depends on (the filterset's class and
        filters, the filters' values in the request, the objects a choice offers, the language):
        building and rendering the filter form was a tenth of a list page."""
        key = self._html_key()
        html = _FIELDS_HTML.get(key) if key is not None else None
        if html is None:
            html = self._render_fields()
            if key is not None:
                with _FIELDS_HTML_LOCK:
                    _FIELDS_HTML[key] = html
                    while len(_FIELDS_HTML) > 256:
                        _FIELDS_HTML.popitem(last=False)
        return mark_safe(html)

    def _html_key(self):
        """None when the markup may depend on more than the key says: no request, or a filter
        whose choices come from a queryset or a function (the audit log's users) rather than
        from ``choice_objects``."""
        if self.request is None or not self._static_choices():
            return None
        data = () if not self.is_bound else tuple(sorted(
            (key, tuple(self.data.getlist(key)) if hasattr(self.data, "getlist") else self.data[key])
            for key in self.data if self._filter_key(key)))
        choices = tuple((name, tuple((str(obj.pk), str(obj)) for obj in objects(self.request)))
                        for name, objects in sorted(self.choice_objects.items()) if name in self.filters)
        return type(self), tuple(self.filters), self.form_prefix, self.is_bound, data, choices, get_language()

    def _static_choices(self) -> bool:
        for name, filter_ in self.filters.items():
            if isinstance(filter_, django_filters.filters.QuerySetRequestMixin) and name not in self.choice_objects:
                return False
            if callable(filter_.extra.get("choices")):
                return False
        return True

    def _render_fields(self) -> str:
        parts = []
        for field in self.form:
            column = SEARCH_COLUMN if field.name == "q" else FILTER_COLUMN
            errors = "".join(f'<div class="invalid-feedback d-block">{html_text(error)}</div>' for error in field.errors)
            parts.append(f'<div class="{column}">\n<div class="mb-3" id="div_{html_text(field.auto_id)}">'
                         f'<label class="form-label" for="{html_text(field.id_for_label)}">{html_text(field.label)}</label>'
                         f"{field}{errors}</div>\n</div>")  # str(): the widget, as {{ field }} writes it
        return "\n".join(parts)


_FIELDS_HTML: "OrderedDict[tuple, str]" = OrderedDict()
_FIELDS_HTML_LOCK = threading.Lock()


SEARCH_COLUMN = "col-12 col-md-8 col-lg-6 col-xxl-3"
FILTER_COLUMN = "col-6 col-md-4 col-lg-3 col-xxl-2"


class _FieldsOfOneForm(dict):
    """Form fields made for a single form instance: the copy ``BaseForm.__init__`` takes of them
    can be shallow, as nothing else holds these field objects."""

    def __deepcopy__(self, memo):
        return dict(self)


class ShortModelChoiceIterator(forms.models.ModelChoiceIterator):
    """Choices of a short list (a user's sites) read in one plain query. Django's iterator uses
    ``QuerySet.iterator()``, on PostgreSQL a server-side cursor (DECLARE ... WITH HOLD, FETCH,
    CLOSE: several round trips and a materialisation) on every list page."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        objects = getattr(self.field, "choice_objects", None)
        for obj in objects if objects is not None else self.queryset.all():
            yield self.choice(obj)


def _choose_from(field: forms.ModelChoiceField, objects: list) -> None:
    """Offer ``objects`` and accept only one of them (by primary key), as ``ModelChoiceField``
    would with a queryset of exactly these objects, without its ``queryset.get()``."""
    field.choice_objects = objects
    by_key = {str(obj.pk): obj for obj in objects}

    def to_python(value):
        if value in field.empty_values:
            return None
        found = by_key.get(str(value))
        if found is None:
            raise ValidationError(field.error_messages["invalid_choice"], code="invalid_choice",
                                  params={"value": value})
        return found

    field.to_python = to_python


def _bootstrap_widget(widget) -> None:
    """Bootstrap's class on a filter widget, so the filter bar renders its fields directly
    (``portal/object_list.html``) instead of through crispy-forms' field templates, which
    cost more than the rest of the list page's frame."""
    if isinstance(widget, forms.CheckboxInput):
        css = "form-check-input"
    elif isinstance(widget, forms.Select) and not isinstance(widget, forms.SelectMultiple):
        css = "form-select"
    else:
        css = "form-control"
    widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()


DATE_WIDGET = forms.DateInput(attrs={"type": "date"})


class YesNoFilter(django_filters.BooleanFilter):
    """A yes/no filter whose empty choice reads "Any" (django-filter's says "Unknown")."""

    def __init__(self, *args, yes: str = "Yes", no: str = "No", **kwargs):
        kwargs.setdefault("widget", forms.Select(choices=[("", "Any"), ("true", yes), ("false", no)]))
        super().__init__(*args, **kwargs)


def day_start(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


class DateFromFilter(django_filters.DateFilter):
    """Timestamps on or after the start of the chosen day (an index-friendly range, no __date)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", DATE_WIDGET)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        return qs.filter(**{f"{self.field_name}__gte": day_start(value)}) if value else qs


class DateToFilter(DateFromFilter):
    """Timestamps up to the end of the chosen day."""

    def filter(self, qs, value):
        return qs.filter(**{f"{self.field_name}__lt": day_start(value + dt.timedelta(days=1))}) if value else qs
