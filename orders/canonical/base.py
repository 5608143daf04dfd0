"""Lenient building blocks shared by the canonical models."""
import datetime as dt
import re
import typing
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, PlainSerializer, ValidationError, model_validator

from .errors import FieldError, RequestRejected, errors_from_validation
from .jsonio import loads_lenient


def is_blank(value: Any) -> bool:
    """True for None, "", whitespace, and containers whose every leaf is blank. The client
    libraries send empty objects/strings for everything not set (Go: "", TS: {"Name":{...""}})."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, dict):
        value = value.values()
    elif not isinstance(value, list | tuple):
        return False
    for item in value:  # a loop, not all(<generator>): called ~25 times per bulk-imported row
        if not is_blank(item):
            return False
    return True


def _text(value: Any) -> Any:
    if type(value) is str:  # the common case first (same result as the str branch below)
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        return value.strip() or None
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("contains a NUL character")
        value = value.strip()
        return value or None
    if isinstance(value, dict) and is_blank(value):
        return None
    return value


def _int_or_none(value: Any) -> Any:
    if is_blank(value):
        return None
    return value


Text = Annotated[str | None, BeforeValidator(_text)]
OptionalInt = Annotated[int | None, BeforeValidator(_int_or_none)]


def Blankable(model):  # noqa: N802 - reads like a type
    """An optional nested object that counts as absent when all its known properties are blank
    (unknown properties are ignored first, as the model itself would)."""

    def blank_to_none(value: Any) -> Any:
        if isinstance(value, dict):
            return None if is_blank(model._fold_keys(value)) else value
        return None if is_blank(value) else value

    return Annotated[model | None, BeforeValidator(blank_to_none)]


_US_DATE = re.compile(r"^(\d{1,2})[/-](\d{1,2})[/-](\d{4})$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_FRACTION = re.compile(r"(\.\d{6})\d+")


def parse_datetime(value: Any) -> dt.datetime | None:
    """Accepts ISO 8601 (any fraction length, Z or offset), M/D/YYYY [h:mm[:ss]], YYYYMMDD.
    Naive values stay naive (local to the exam location, as IRIS ScheduledTime is)."""
    if is_blank(value):
        return None
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    if not isinstance(value, str):
        raise ValueError("expected a date/time string")
    text = value.strip()
    date_part, _, time_part = text.partition(" ")
    us = _US_DATE.match(date_part)
    if us:
        month, day, year = (int(group) for group in us.groups())
        try:
            base = dt.datetime(year, month, day)
        except ValueError:
            raise ValueError(f"'{text}' is not a valid date") from None
        if time_part:
            try:
                clock = dt.time.fromisoformat(time_part.strip()) if ":" in time_part and "M" not in time_part.upper() else dt.datetime.strptime(time_part.strip().upper(), "%I:%M %p").time()
            except ValueError:
                raise ValueError(f"'{text}' is not a valid date/time") from None
            base = base.replace(hour=clock.hour, minute=clock.minute, second=clock.second)
        return base
    compact = _COMPACT_DATE.match(text)
    if compact:
        try:
            return dt.datetime(*(int(group) for group in compact.groups()))
        except ValueError:
            raise ValueError(f"'{text}' is not a valid date") from None
    iso = _FRACTION.sub(r"\1", text)
    if iso.endswith(("Z", "z")):
        iso = iso[:-1] + "+00:00"
    try:
        return dt.datetime.fromisoformat(iso)
    except ValueError:
        raise ValueError(f"'{text}' is not a recognised date/time (use ISO 8601 or M/D/YYYY)") from None


def parse_date(value: Any) -> dt.date | None:
    parsed = parse_datetime(value)
    return parsed.date() if parsed is not None else None


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


LooseDateTime = Annotated[dt.datetime | None, BeforeValidator(parse_datetime), PlainSerializer(_iso)]
LooseDate = Annotated[dt.date | None, BeforeValidator(parse_date)]


class LenientModel(BaseModel):
    """Property names are matched case-insensitively; ``_synonyms`` maps other spellings the
    client libraries use (lower-case key -> field alias). Unknown properties are ignored."""

    model_config = ConfigDict(
        extra="ignore", validate_by_alias=True, validate_by_name=True, serialize_by_alias=True,
        str_strip_whitespace=True,
    )
    _synonyms: ClassVar[dict[str, str]] = {}
    _lookup_cache: ClassVar[dict[str, str] | None] = None

    # Per class, set when it is defined (these are read for every nested object of every
    # message): the field names, those whose type can hold a nested LenientModel, the aliases.
    _field_names: ClassVar[tuple[str, ...]] = ()
    _model_field_names: ClassVar[tuple[str, ...]] = ()
    _aliases: ClassVar[frozenset[str]] = frozenset()

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        fields = cls.model_fields
        cls._field_names = tuple(fields)
        cls._model_field_names = tuple(name for name, info in fields.items() if _may_hold_model(info.annotation))
        cls._aliases = frozenset(info.alias or name for name, info in fields.items())

    @classmethod
    def _key_lookup(cls) -> dict[str, str]:
        cached = cls.__dict__.get("_lookup_cache_own")
        if cached is None:
            cached = {}
            for name, field in cls.model_fields.items():
                alias = field.alias or name
                cached[alias.lower()] = alias
                cached[name.lower()] = alias
            for synonym, alias in cls._synonyms.items():
                cached.setdefault(synonym.lower(), alias)
            type.__setattr__(cls, "_lookup_cache_own", cached)
        return cached

    def required_errors(self) -> list:
        """Fields this message needs beyond its types (overridden per message)."""
        return []

    def is_empty(self) -> bool:
        """True when nothing was given (every field None, empty, or an empty nested object)."""
        for name in self._field_names:
            value = getattr(self, name)
            if isinstance(value, LenientModel):
                if not value.is_empty():
                    return False
            elif value is not None and value != [] and value != "":
                return False
        return True

    @model_validator(mode="after")
    def _drop_empty_children(self):
        """A nested object whose known properties are all blank is absent (None), so the client
        libraries' blank placeholders never count as "given"."""
        for name in self._model_field_names:  # fields of other types never hold a LenientModel
            value = getattr(self, name)
            if isinstance(value, LenientModel) and value.is_empty():
                object.__setattr__(self, name, None)
        return self

    @model_validator(mode="before")
    @classmethod
    def _fold_keys(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        if data.keys() <= cls._aliases:
            return data  # every key is already an exact alias: folding would copy the dict unchanged
        lookup = cls._key_lookup()
        folded: dict[str, Any] = {}
        for key, value in data.items():
            alias = lookup.get(str(key).strip().lower())
            if alias is None:
                continue
            # Two spellings of one field (TS sends both Zip and PostalCode): the non-blank wins.
            if alias in folded and not is_blank(folded[alias]):
                continue
            folded[alias] = value
        return folded


def _may_hold_model(annotation: Any) -> bool:
    """Whether a field of this type can hold a LenientModel instance (lists of models cannot:
    their value is a list). Unknown or ``Any`` types count as "can"."""
    if annotation is Any:
        return True
    if isinstance(annotation, type):
        return issubclass(annotation, BaseModel) or annotation is object
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset, dict):
        return False
    if origin is Annotated:
        return _may_hold_model(typing.get_args(annotation)[0])
    args = typing.get_args(annotation)
    if origin is not None and args:  # unions
        return any(_may_hold_model(arg) for arg in args)
    return annotation is not None  # forward references, Literal values, type variables


def parse_message(model: type["LenientModel"], data: "str | bytes | dict", label: str):
    """JSON text/bytes or a dict -> a validated ``model``; every problem is a RequestRejected
    naming the field. A model's ``required_errors()`` adds its own requirements."""
    if not isinstance(data, dict):
        data = loads_lenient(data)
    if not isinstance(data, dict):
        raise RequestRejected(FieldError("", f"{label} must be a JSON object"))
    try:
        message = model.model_validate(data)
    except ValidationError as exc:
        raise RequestRejected(errors_from_validation(exc)) from None
    if errors := message.required_errors():
        raise RequestRejected(errors)
    return message
