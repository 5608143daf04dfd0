"""Rejections that name the field and the reason, e.g. ``Patient.Dob: required``."""
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
