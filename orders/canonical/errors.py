"""Rejections that name the field and the reason, e.g. ``Patient.Dob: required``."""
import re
from dataclasses import dataclass

from pydantic import ValidationError


@dataclass(frozen=True)
class FieldError:
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}" if self.field else self.reason


class RequestRejected(Exception):
    """The request cannot be processed as sent; nothing was changed."""

    def __init__(self, errors: list[FieldError] | FieldError):
        self.errors = [errors] if isinstance(errors, FieldError) else list(errors)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        return "; ".join(str(error) for error in self.errors)


_MESSAGE_SPLIT = re.compile(r"; (?=[A-Za-z][\w.\[\]]*: )")
_FIELD_NAME = re.compile(r"[A-Za-z][\w.\[\]]*")


def field_errors_parse(message: str) -> list[FieldError]:
    """A ``RequestRejected.message`` (``Field: reason; Field: reason``) back into FieldErrors,
    for callers that only have the stored text (an inbox row, an outcome's ``error``)."""
    errors = []
    for part in _MESSAGE_SPLIT.split(message or ""):
        name, sep, reason = part.partition(": ")
        errors.append(FieldError(name, reason) if sep and _FIELD_NAME.fullmatch(name) else FieldError("", part))
    return errors


def field_path(loc: tuple) -> str:
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part:
            path += ("." if path else "") + str(part)
    return path


def errors_from_validation(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    errors = []
    for item in exc.errors(include_url=False):
        loc = tuple(part for part in item["loc"] if not (isinstance(part, str) and part.startswith("function-")))
        if item["type"] == "missing":
            reason = "required"
        else:
            reason = item["msg"].removeprefix("Value error, ").removeprefix("Assertion failed, ")
        path = field_path(loc)
        errors.append(FieldError(f"{prefix}.{path}" if prefix and path else (prefix or path), reason))
    return errors
