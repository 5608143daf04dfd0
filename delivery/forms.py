"""The endpoint form: common fields plus one form field per field of the transport's own
configuration model (delivery/transports), so every kind gets its own form and the transport's
``validate_config`` errors land on the field they name."""
from __future__ import annotations

import json
import typing
from typing import Any

from django import forms

from .models import Endpoint, PayloadKind
from .transports import ConfigError, transport_class

PREFIX = "config_"
LONG_TEXT = ("certificate", "key", "recipients", "host_key")


def _form_field(name: str, info, secret: bool) -> forms.Field:
    annotation = info.annotation
    label = name.replace("_", " ").capitalize()
    help_text = "Kept when left blank." if secret else (info.description or "")
    if annotation is bool:
        return forms.BooleanField(label=label, required=False, initial=info.default, help_text=help_text)
    choices = typing.get_args(annotation) if typing.get_origin(annotation) is typing.Literal else ()
    if choices:
        return forms.ChoiceField(label=label, required=False, choices=[("", "(default)")]
                                 + [(c, c) for c in choices], help_text=help_text)
    if annotation not in (str, int, float, int | None):  # lists and nested configurations: JSON
        return forms.CharField(label=f"{label} (JSON)", required=False, help_text=help_text,
                               widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}))
    if secret:
        return forms.CharField(label=label, required=False, strip=False, help_text=help_text,
                               widget=forms.PasswordInput(render_value=False))
    widget = forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}) if any(w in name for w in LONG_TEXT) else None
    return forms.CharField(label=label, required=info.is_required(), help_text=help_text, widget=widget)


class EndpointForm(forms.ModelForm):
    class Meta:
        model = Endpoint
        fields = ["name", "site", "payload_kind", "enabled", "failure_contact"]

    def __init__(self, *args, kind: str, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        self.config_model = transport_class(kind).config_model
        self.secrets = self.config_model.secret_fields()
        self.fields["site"].queryset = organization.sites.all()
        self.fields["site"].empty_label = "Every site (organization endpoint)"
        self.fields["payload_kind"].choices = PayloadKind.choices
        stored = self.instance.config if self.instance.pk else {}
        for name, info in self.config_model.model_fields.items():
            field = _form_field(name, info, name in self.secrets)
            value = stored.get(name)
            if name not in self.secrets and value is not None:
                field.initial = json.dumps(value) if isinstance(value, list | dict) else value
            self.fields[PREFIX + name] = field

    def config_fields(self):
        return [self[name] for name in self.fields if name.startswith(PREFIX)]

    def common_fields(self):
        return [self[name] for name in self.fields if not name.startswith(PREFIX)]

    def config(self) -> dict[str, Any]:
        """The submitted configuration (blank = default; a blank secret keeps the stored one)."""
        stored = self.instance.config if self.instance.pk else {}
        config: dict[str, Any] = {}
        for name, info in self.config_model.model_fields.items():
            value = self.cleaned_data.get(PREFIX + name)
            if info.annotation is bool:
                config[name] = bool(value)
            elif value in (None, ""):
                if name in self.secrets and stored.get(name):
                    config[name] = stored[name]
            elif isinstance(self.fields[PREFIX + name].widget, forms.Textarea) and "(JSON)" in str(
                    self.fields[PREFIX + name].label):
                try:
                    config[name] = json.loads(value)
                except ValueError:
                    self.add_error(PREFIX + name, "not valid JSON")
            else:
                config[name] = value
        return config

    def config_errors_show(self, error: ConfigError) -> None:
        for name, message in error.errors.items():
            top = name.split(".", 1)[0]
            if PREFIX + top in self.fields:
                self.add_error(PREFIX + top, message if top == name else f"{name}: {message}")
            else:
                self.add_error(None, message)
