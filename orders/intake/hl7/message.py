"""Reading an inbound HL7 v2 message: SSN redaction (R13), a tolerant MSH reader (enough to
recognise the sender and address an ACK even when the rest is broken), and python-hl7 parsing
behind a small accessor that never raises for an absent field.

Liberal in what we accept: segments separated by CR, LF or CRLF; MSH-2 copied from Markdown as
``^\\~\\&`` (as in the published IRIS examples) is read as ``^~\\&``. Separators that still clash
are refused, because python-hl7 cannot split such a message reliably.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import hl7

SEGMENT_BREAK = re.compile(r"(\r\n|\r|\n)")
DEFAULT_FIELD = "|"
LEADING_BLANKS = "\ufeff \t\r\n"

# Fields that carry a social security number (R13: blanked before anything is stored):
# PID-19; NK1-37 contact person SSN; GT1-12 guarantor SSN; IN2-2 insured's SSN.
SSN_FIELDS = {"PID": (19,), "NK1": (37,), "GT1": (12,), "IN2": (2,)}
# Identifier lists whose repetitions may be typed SS (CX.5, HL7 table 0203): PID-2, PID-3, PID-4.
SSN_TYPED_LIST_FIELDS = {"PID": (2, 3, 4)}
SSN_IDENTIFIER_TYPES = {"SS", "SSN"}


@dataclass(frozen=True)
class Location:
    """Where in the message a value is: segment, its occurrence, field, component."""

    segment: str
    field: int | None = None
    component: int | None = None
    sequence: int = 1

    def __str__(self) -> str:
        text = self.segment
        if self.field is not None:
            text += f"-{self.field}"
            if self.component is not None:
                text += f".{self.component}"
        return text


class HL7ParseError(ValueError):
    """The text cannot be read as an HL7 v2 message; ``location`` says where, when known."""

    def __init__(self, reason: str, location: Location | None = None):
        super().__init__(reason)
        self.reason = reason
        self.location = location


@dataclass(frozen=True)
class Separators:
    field: str = DEFAULT_FIELD
    component: str = "^"
    repetition: str = "~"
    escape: str = "\\"
    subcomponent: str = "&"

    @property
    def encoding_characters(self) -> str:
        return self.component + self.repetition + self.escape + self.subcomponent


def _separators_guess(text: str) -> Separators:
    """The message's separators when its MSH declares usable ones, else the defaults."""
    try:
        return separators_read(text.lstrip(LEADING_BLANKS))[0]
    except HL7ParseError:
        return Separators()


def separators_read(text: str) -> tuple[Separators, str]:
    """(separators, MSH-2 as it should have been sent) from the start of ``text``."""
    if not text.startswith("MSH"):
        raise HL7ParseError("not an HL7 v2 message: it does not start with an MSH segment", Location("MSH"))
    if len(text) < 8:
        raise HL7ParseError("the MSH segment is truncated", Location("MSH", 2))
    field_sep = text[3]
    end = text.find(field_sep, 4)
    encoding = text[4:end] if end > 0 else ""
    if len(set(encoding)) < len(encoding) and "\\~" in encoding:
        encoding = encoding.replace("\\~", "~", 1)  # Markdown-escaped copy: ^\~\& -> ^~\&
    chars = field_sep + encoding[:4]
    if (len(encoding) not in (4, 5) or len(set(chars)) != 5
            or any(char.isalnum() or char.isspace() for char in chars)):
        raise HL7ParseError(
            f"invalid separators: MSH-1 {field_sep!r} and MSH-2 {encoding!r} must be five distinct "
            "punctuation characters (standard: |^~\\&)", Location("MSH", 2))
    return Separators(field_sep, encoding[0], encoding[1], encoding[2], encoding[3]), encoding


def ssn_redact(text: str) -> str:
    """Blank every SSN-bearing field (R13) and keep everything else byte for byte, including
    the segment separators as sent. Works on broken messages too (separators guessed)."""
    seps = _separators_guess(text)
    parts = SEGMENT_BREAK.split(text)
    changed = False
    for index in range(0, len(parts), 2):
        segment = parts[index]
        name = segment[:3]
        if name not in SSN_FIELDS or segment[3:4] != seps.field:
            continue
        fields = segment.split(seps.field)
        for number in SSN_FIELDS[name]:
            if number < len(fields) and fields[number]:
                fields[number] = ""
                changed = True
        for number in SSN_TYPED_LIST_FIELDS.get(name, ()):
            if number < len(fields) and fields[number]:
                kept = [rep for rep in fields[number].split(seps.repetition) if not _is_ssn_identifier(rep, seps)]
                if len(kept) != len(fields[number].split(seps.repetition)):
                    fields[number] = seps.repetition.join(kept)
                    changed = True
        parts[index] = seps.field.join(fields)
    return "".join(parts) if changed else text


def _is_ssn_identifier(repetition: str, seps: Separators) -> bool:
    components = repetition.split(seps.component)
    return len(components) > 4 and components[4].strip().upper() in SSN_IDENTIFIER_TYPES


@dataclass(frozen=True)
class Header:
    """MSH as read field by field (HL7 numbering: ``field(10)`` is MSH-10)."""

    fields: tuple[str, ...]
    separators: Separators

    def components(self, number: int) -> list[str]:
        """The components of MSH-n's first repetition, as sent (not unescaped)."""
        if number < 3 or number - 1 >= len(self.fields):
            return []
        return self.fields[number - 1].split(self.separators.repetition)[0].split(self.separators.component)

    def field(self, number: int, component: int = 1) -> str:
        """MSH-n (component ``component`` of the first repetition), stripped, not unescaped."""
        parts = self.components(number)
        return parts[component - 1].strip() if component <= len(parts) else ""

    @property
    def sending_application(self) -> str:
        return self.field(3)

    @property
    def sending_facility(self) -> str:
        return self.field(4)

    @property
    def message_type(self) -> str:
        return self.field(9).upper()

    @property
    def trigger_event(self) -> str:
        return self.field(9, 2).upper()

    @property
    def control_id(self) -> str:
        return self.field(10)

    @property
    def version(self) -> str:
        return self.field(12)

    @property
    def sender(self) -> str:
        """How the inbox names the sender: MSH-3|MSH-4 as sent."""
        application, facility = (self.fields[index] if index < len(self.fields) else "" for index in (2, 3))
        return f"{application}|{facility}".strip()


def header_read(text: str) -> Header:
    """The MSH of ``text`` (HL7ParseError when there is none or its separators are unusable)."""
    seps, _ = separators_read(text)
    raw = SEGMENT_BREAK.split(text, maxsplit=1)[0].split(seps.field)
    # HL7 numbers the field separator itself MSH-1, so MSH-n is raw[n - 1] from MSH-3 on.
    return Header(fields=(seps.field, seps.encoding_characters, *raw[2:]), separators=seps)


def header_guess(text: str) -> Header | None:
    """Best effort MSH for addressing an ACK to a message that failed to parse."""
    try:
        return header_read(text.lstrip(LEADING_BLANKS))
    except HL7ParseError:
        return None


def normalized(text: str, header: Header) -> str:
    """The message as python-hl7 wants it: CR between segments, standard MSH-2, no padding."""
    text = SEGMENT_BREAK.sub("\r", text.lstrip(LEADING_BLANKS)).strip("\r\n \t")
    seps = header.separators
    declared = text[4:text.find(seps.field, 4)]
    if declared[:4] != seps.encoding_characters:
        text = "MSH" + seps.field + seps.encoding_characters + text[4 + len(declared):]
    return text


class ParsedMessage:
    """python-hl7's message with accessors that return '' for anything absent."""

    def __init__(self, message: hl7.Message, header: Header):
        self.message = message
        self.header = header
        self._segments: dict[str, list] = {}
        self._fields: dict[tuple[str, int, int], list[list[str]]] = {}
        for segment in message:
            self._segments.setdefault(str(segment[0]).strip().upper(), []).append(segment)

    def count(self, name: str) -> int:
        return len(self._segments.get(name, ()))

    def repetitions(self, name: str, field: int, occurrence: int = 1) -> list[list[str]]:
        """Field ``name-field`` of the ``occurrence``-th such segment as repetitions of components
        (first subcomponent of each, unescaped)."""
        key = (name, field, occurrence)
        if key not in self._fields:
            self._fields[key] = self._read(name, field, occurrence)
        return self._fields[key]

    def _read(self, name: str, field: int, occurrence: int) -> list[list[str]]:
        found = self._segments.get(name, ())
        if occurrence > len(found) or field >= len(found[occurrence - 1]):
            return []
        value = found[occurrence - 1][field]
        if isinstance(value, str):
            value = [value]
        return [[self._unescape(_first_leaf(component)) for component in _items(repetition)]
                for repetition in value]

    def get(self, name: str, field: int, component: int = 1, *, repetition: int = 1, occurrence: int = 1) -> str:
        reps = self.repetitions(name, field, occurrence)
        if repetition > len(reps) or component > len(reps[repetition - 1]):
            return ""
        return reps[repetition - 1][component - 1].strip()

    def _unescape(self, value: str) -> str:
        return self.message.unescape(value) if self.header.separators.escape in value else value


def _items(node) -> list:
    return [node] if isinstance(node, str) else list(node)


def _first_leaf(node) -> str:
    while not isinstance(node, str):
        if not node:
            return ""
        node = node[0]
    return node


def message_parse(text: str) -> ParsedMessage:
    """Parse ``text`` (already SSN-redacted) or raise HL7ParseError naming the problem."""
    body = text.lstrip(LEADING_BLANKS)
    header = header_read(body)
    try:
        message = hl7.parse(normalized(body, header))
    except Exception as exc:  # noqa: BLE001 - python-hl7 raises assorted errors (even AssertionError)
        raise HL7ParseError(f"cannot be parsed as HL7 v2 ({type(exc).__name__})") from None
    return ParsedMessage(message, header)


__all__ = [
    "HL7ParseError", "Header", "Location", "ParsedMessage", "Separators", "header_guess", "header_read",
    "message_parse", "ssn_redact",
]
