"""Form widgets rendered in Python where Django's template rendering is the cost of a page."""
import copy

from django import forms
from django.utils.html import format_html
from django.utils.safestring import mark_safe


class FastSelect(forms.Select):
    """A ``<select>`` built in Python. Django renders a ``<select>`` through a template per
    ``<option>`` plus one for the attributes: the filter bar's five selects cost more than the
    Order Manager's 200 table cells. Same markup as Django's (option groups go to Django)."""

    @classmethod
    def like(cls, widget: forms.Select) -> "FastSelect":
        return cls(attrs=dict(widget.attrs), choices=widget.choices)

    def render(self, name, value, attrs=None, renderer=None):
        choices = list(iter(self.choices))  # not list(choices): its len() is a COUNT query for model choices
        if any(isinstance(label, (list, tuple)) for _, label in choices):
            return super().render(name, value, attrs, renderer)
        chosen = set(self.format_value(value))
        options, selected = [], False
        for option_value, label in choices:
            option_value = "" if option_value is None else str(option_value)
            is_selected = not selected and option_value in chosen
            selected = selected or is_selected
            options.append(format_html('<option value="{}"{}>{}</option>', option_value,
                                       mark_safe(" selected") if is_selected else "", label))
        return mark_safe(format_html('<select name="{}"{}>', name, _attributes(self.build_attrs(self.attrs, attrs)))
                         + "\n" + "\n".join(options) + "\n</select>")


class _PythonInput:
    """An ``<input>`` built in Python, as django/forms/widgets/input.html writes it (two
    templates per field otherwise: a third of the filter bar's cost)."""

    def render(self, name, value, attrs=None, renderer=None):
        value = self.format_value(value)
        html = format_html('<input type="{}" name="{}"', self.input_type, name)
        if value is not None:
            html += format_html(' value="{}"', value)
        return mark_safe(html + _attributes(self.build_attrs(self.attrs, attrs)) + ">")


class FastTextInput(_PythonInput, forms.TextInput):
    pass


class FastDateInput(_PythonInput, forms.DateInput):
    pass


_FAST = {forms.Select: FastSelect, forms.TextInput: FastTextInput, forms.DateInput: FastDateInput}


def fast_widget(widget: forms.Widget) -> forms.Widget:
    """The widget rendered in Python when there is a fast version of exactly its class (same
    attributes, choices and formats: a copy of it), else the widget itself."""
    fast_class = _FAST.get(type(widget))
    if fast_class is None:
        return widget
    fast = copy.copy(widget)
    fast.__class__ = fast_class
    return fast


def _attributes(attrs: dict) -> str:
    """HTML attributes as django/forms/widgets/attrs.html writes them: in order, True as a bare
    name, False left out."""
    return mark_safe("".join(
        "" if value is False else format_html(" {}", name) if value is True else format_html(' {}="{}"', name, value)
        for name, value in attrs.items()))
