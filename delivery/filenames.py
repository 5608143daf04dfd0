"""File and folder names from templates (IRIS ``integration/FileNameTemplates.md``).

A template is static text with ``{token}`` placeholders, e.g. ``{MMddyyyy}/{clientLocalId}/
{orderLocalId}.pdf``. Either ``/`` or ``\\`` separates folders. Tokens are case sensitive and only
the documented ones exist; date tokens are taken in the endpoint's time zone, ``YEST_`` forms one
day earlier (same wall-clock time).

The template is relative to a base folder and can never leave it: a root, a drive, ``..`` or an
empty folder name is refused when the template is configured; substituted values cannot carry
separators (they are made filename-safe), and ``path_within`` checks the joined path again when
a file is written.
"""
from __future__ import annotations

import datetime as dt
import difflib
import os
import posixpath
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

VALUE_TOKENS: dict[str, str] = {
    "patientId": "Patient id as specified by IRIS (the portal's patient number)",
    "patientLocalId": "Patient id as specified by the submitting organization",
    "orderId": "Order id as specified by IRIS (the portal's order number)",
    "orderLocalId": "Order id as specified by the submitting organization",
    "patientFirstName": "Patient's first name",
    "patientLastName": "Patient's last name",
    "clientLocalId": "Id of the site/facility as specified by the submitting organization",
    "departmentLocalId": "Id of the department as specified by the submitting organization",
}

_DATE_FORMATS: dict[str, tuple[str, str]] = {
    "yyyy": ("%Y", "four digit year"),
    "MM": ("%m", "zero padded two digit month"),
    "dd": ("%d", "zero padded two digit day of the month"),
    "yyyyMMdd_HHmmss": ("%Y%m%d_%H%M%S", "date and time, e.g. 20240901_090421"),
    "yyyyMMdd": ("%Y%m%d", "date, e.g. 20240901"),
    "MMddyyyy": ("%m%d%Y", "date, e.g. 09012024"),
}
YESTERDAY_PREFIX = "YEST_"
DATE_TOKENS: dict[str, str] = {
    **{name: f"{text} when the result is delivered" for name, (_, text) in _DATE_FORMATS.items()},
    **{YESTERDAY_PREFIX + name: f"{text} when the result is delivered, minus one day"
       for name, (_, text) in _DATE_FORMATS.items()},
}
TOKENS: dict[str, str] = {**VALUE_TOKENS, **DATE_TOKENS}

MAX_VALUE_CHARS = 100  # one substituted value
MAX_SEGMENT_BYTES = 255  # one folder or file name (common file system limit)
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_SEPARATORS = re.compile(r"[\\/]")
_UNSAFE_CHARS = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL",
                     *(f"COM{n}" for n in range(1, 10)), *(f"LPT{n}" for n in range(1, 10))}


class TemplateError(ValueError):
    """The template cannot be used (configuration) or cannot name this result (render)."""


@dataclass(frozen=True)
class _Token:
    name: str


@dataclass(frozen=True)
class FileNameTemplate:
    """A parsed, checked template. ``allow_folders=False`` for destinations that write into one
    directory (SFTP)."""

    text: str
    allow_folders: bool = True
    _segments: tuple[tuple[str | _Token, ...], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_segments", _parse(self.text, allow_folders=self.allow_folders))

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(part.name for segment in self._segments for part in segment
                                   if isinstance(part, _Token)))

    def render(self, values: Mapping[str, Any], when: dt.datetime, tz: dt.tzinfo | None = None) -> str:
        """The relative path (``/``-separated) for one result. ``values`` holds the order tokens;
        date tokens come from ``when`` (an aware datetime) in ``tz``. TemplateError when a folder
        or file name would be empty or too long."""
        if when.tzinfo is None:
            raise ValueError("render() needs an aware datetime")
        local = when.astimezone(tz) if tz is not None else when
        dates = _date_values(local)
        segments = []
        last = len(self._segments) - 1
        for index, segment in enumerate(self._segments):
            text = "".join(_value(part, values, dates) for part in segment)
            text = _finish_segment(text)
            if not text:
                empty = [f"{{{part.name}}}" for part in segment if isinstance(part, _Token)]
                what = "file name" if index == last else "folder name"
                source = ", ".join(empty) or "the template"
                raise TemplateError(f"the {what} from {source} is empty for this result")
            if len(text.encode("utf-8")) > MAX_SEGMENT_BYTES:
                raise TemplateError(f"a folder or file name would be longer than {MAX_SEGMENT_BYTES} bytes")
            segments.append(text)
        return "/".join(segments)


def _parse(text: str, *, allow_folders: bool) -> tuple[tuple[str | _Token, ...], ...]:
    if not text or not text.strip():
        raise TemplateError("the template is empty")
    if text.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", text):
        raise TemplateError("the template must be relative to the base folder: it may not start with a root "
                            "folder or a drive letter (put that part in the base folder)")
    raw_segments = _SEPARATORS.split(text)
    if len(raw_segments) > 1 and not allow_folders:
        raise TemplateError("this destination writes into one directory: the template may not contain folders "
                            "('/' or '\\')")
    segments = []
    for position, raw in enumerate(raw_segments):
        if raw == "":
            where = "at the end" if position == len(raw_segments) - 1 else "(two separators in a row)"
            raise TemplateError(f"the template has an empty folder or file name {where}")
        if raw.strip() in (".", ".."):
            raise TemplateError(f"'{raw.strip()}' is not allowed: the template would escape its base folder")
        segments.append(_parse_segment(raw))
    return tuple(segments)


def _parse_segment(raw: str) -> tuple[str | _Token, ...]:
    parts: list[str | _Token] = []
    position = 0
    for match in _PLACEHOLDER.finditer(raw):
        parts.append(_static(raw[position:match.start()]))
        parts.append(_token(match.group(1)))
        position = match.end()
    parts.append(_static(raw[position:]))
    return tuple(part for part in parts if part != "")


def _static(text: str) -> str:
    for char in ("{", "}"):
        if char in text:
            raise TemplateError(f"unmatched '{char}': placeholders look like {{orderLocalId}}")
    bad = _UNSAFE_CHARS.search(text)
    if bad:
        raise TemplateError(f"the character {bad.group()!r} is not allowed in file names")
    return text


def _token(name: str) -> _Token:
    if name in TOKENS:
        return _Token(name)
    hint = difflib.get_close_matches(name, list(TOKENS), n=1, cutoff=0.6)
    if not hint:
        hint = [token for token in TOKENS if token.lower() == name.lower()]
    suggestion = f"; did you mean {{{hint[0]}}}? (tokens are case sensitive)" if hint else ""
    raise TemplateError(f"unknown token {{{name}}}{suggestion}")


def _date_values(local: dt.datetime) -> dict[str, str]:
    yesterday = local - dt.timedelta(days=1)
    values = {name: local.strftime(fmt) for name, (fmt, _) in _DATE_FORMATS.items()}
    values.update({YESTERDAY_PREFIX + name: yesterday.strftime(fmt) for name, (fmt, _) in _DATE_FORMATS.items()})
    return values


def _value(part: str | _Token, values: Mapping[str, Any], dates: Mapping[str, str]) -> str:
    if isinstance(part, str):
        return part
    if part.name in dates:
        return dates[part.name]
    return filename_safe(values.get(part.name))


def filename_safe(value: Any) -> str:
    """A substituted value as a piece of a file name: no separators, control or Windows-reserved
    characters (each becomes ``_``), no leading dots or surrounding blanks, at most
    MAX_VALUE_CHARS characters. None becomes ''."""
    if value is None:
        return ""
    text = unicodedata.normalize("NFC", str(value))
    text = _UNSAFE_CHARS.sub("_", text).strip()
    text = text.lstrip(".").strip()
    return text[:MAX_VALUE_CHARS].rstrip(" .")


def _finish_segment(text: str) -> str:
    """Windows refuses names ending in a dot or blank and the device names (CON, NUL...)."""
    text = text.strip().rstrip(". ")
    if text.split(".", 1)[0].upper() in _WINDOWS_RESERVED:
        text = "_" + text
    return text


def path_within(base: str, relative: str, *, pathmod=os.path) -> str:
    """``base`` joined with ``relative``, refusing any result outside ``base``. ``pathmod`` is
    os.path for local folders, posixpath for SFTP."""
    if pathmod.isabs(relative) or any(part in ("..", "") for part in relative.split("/")):
        raise TemplateError("the file name would escape the base folder")
    base_norm = pathmod.normpath(base)
    joined = pathmod.normpath(pathmod.join(base_norm, *relative.split("/")))
    if pathmod.commonpath([base_norm, joined]) != base_norm or joined == base_norm:
        raise TemplateError("the file name would escape the base folder")
    return joined


def suffixed_names(name: str, *, limit: int = 1000) -> Iterator[str]:
    """``name``, then ``name-2``, ``name-3``... before the extension: candidates when an
    existing file must be kept."""
    directory, base = posixpath.split(name)
    stem, dot, ext = base.rpartition(".")
    if not stem:  # no extension (or a leading dot only)
        stem, dot, ext = base, "", ""
    yield name
    for number in range(2, limit + 1):
        yield posixpath.join(directory, f"{stem}-{number}{dot}{ext}")
