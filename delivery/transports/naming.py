"""Configuration fields shared by the transports that write named files (local folder, SFTP)."""
from __future__ import annotations

import secrets
import zoneinfo
from typing import ClassVar, Literal

from django.conf import settings
from pydantic import field_validator

from ..filenames import FileNameTemplate, TemplateError
from .base import ConfigModel, DeliveryPayload, TransportError


class NamingFields(ConfigModel):
    """``file_name_template``: FileNameTemplates.md tokens; ``time_zone``: where date tokens are
    read (IANA name, default the portal's TIME_ZONE); ``if_exists``: ``replace`` an existing file
    of the same name (a retried delivery overwrites itself) or ``suffix`` a new name (-2, -3...)."""

    allow_folders: ClassVar[bool] = True

    file_name_template: str
    time_zone: str = ""
    if_exists: Literal["replace", "suffix"] = "replace"

    @field_validator("file_name_template")
    @classmethod
    def _template_valid(cls, value: str) -> str:
        FileNameTemplate(value, allow_folders=cls.allow_folders)
        return value

    @field_validator("time_zone")
    @classmethod
    def _zone_known(cls, value: str) -> str:
        if value:
            try:
                zoneinfo.ZoneInfo(value)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown time zone '{value}' (use an IANA name such as "
                                 "America/New_York)") from None
        return value

    def file_name(self, payload: DeliveryPayload) -> str:
        """The rendered relative name; an unusable result (empty folder name) is a permanent error."""
        template = FileNameTemplate(self.file_name_template, allow_folders=self.allow_folders)
        zone = zoneinfo.ZoneInfo(self.time_zone or settings.TIME_ZONE)
        try:
            return template.render(payload.template_values(), payload.moment(), zone)
        except TemplateError as exc:
            raise TransportError(f"cannot name the file: {exc}", permanent=True) from None


def temporary_name(name: str) -> str:
    """Where a file is written before it is renamed into place: hidden, unique, ``.part``, so
    readers polling the folder skip it and two senders never share one."""
    return f".{name}.{secrets.token_hex(6)}.part"
