"""Shared form pieces: crispy-forms bootstrap5 layouts, the two-factor token form."""
from crispy_forms.helper import FormHelper
from django import forms


class PortalFormMixin:
    """Every portal form renders through crispy-forms inside the page's own <form> tag; a form
    sets ``layout`` (a crispy Layout) when the default one-field-per-row is not enough."""

    layout = None

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.helper = FormHelper(self)
        self.helper.form_tag = False
        if self.layout is not None:
            self.helper.layout = self.layout


class TokenForm(PortalFormMixin, forms.Form):
    token = forms.CharField(
        label="6-digit code", min_length=6, max_length=8, strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
    )

    def clean_token(self):
        token = self.cleaned_data["token"].replace(" ", "")
        if not token.isdigit():
            raise forms.ValidationError("The code has only digits.")
        return token
