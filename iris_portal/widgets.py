"""Form widgets rendered in Python where Django's template rendering is the cost of a page."""
import copy

from django import forms
from django.utils.safestring import mark_safe

from .escaping import html_text


class FastSelect(forms.Select):
    """A ``<select>`` built in Python. Django renders a ``<select>`` through a template per
    ``<option>`` plus one for the attributes: the filter bar's five selects cost more than the
    Order Manager's 200 table cells. Same markup as Django's (option groups go to Django)."""

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
            options.append(f'<option value="{html_text(option_value)}"{" selected" if is_selected else ""}>'
                           f"{html_text(label)}</option>")
        return mark_safe(f'<select name="{html_text(name)}"{_attributes(self.build_attrs(self.attrs, attrs))}>\n'
                         + "\n".join(options) + "\n</select>")


class _PythonInput:
    """An ``<input>`` built in Python, as django/forms/widgets/input.html writes it (two
    templates per field otherwise: a third of the filter bar's cost)."""

    def render(self, name, value, attrs=None, renderer=None):
        value = self.format_value(value)
        shown = "" if value is None else f' value="{html_text(value)}"'
        return mark_safe(f'<input type="{html_text(self.input_type)}" name="{html_text(name)}"{shown}'
                         f"{_attributes(self.build_attrs(self.attrs, attrs))}>")


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
    name, False left out (escaped with ``html_text``: ``format_html`` per attribute and option
    was a twentieth of a list page)."""
    return "".join("" if value is False else f" {html_text(name)}" if value is True
                   else f' {html_text(name)}="{html_text(value)}"' for name, value in attrs.items())
