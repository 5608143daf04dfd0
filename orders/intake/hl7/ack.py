"""ACKs for inbound messages (HL7 v2 original mode).

MSA-1 AA accepted / AE error in the content / AR rejected (unreadable, unknown sender, not an
ORM^O01, or not stored); MSA-2 echoes MSH-10; the ACK's MSH swaps the sender and receiver of the
message. ERR names the segment, field and reason: ERR-1 (ELD) for versions before 2.5, ERR-2/3/4/8
from 2.5 on, so either kind of receiver can read it. HL7 table 0357 gives the codes.
"""
from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from .message import Header, Location

ACCEPT, ERROR, REJECT = "AA", "AE", "AR"
DEFAULT_VERSION = "2.4"
ERROR_TEXTS = {
    100: "Segment sequence error", 101: "Required field missing", 102: "Data type error",
    103: "Table value not found", 200: "Unsupported message type", 201: "Unsupported event code",
    204: "Unknown key identifier", 205: "Duplicate key identifier", 207: "Application internal error",
}
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]+")


@dataclass(frozen=True)
class AckError:
    reason: str
    location: Location | None = None
    code: int = 207


def error_code_for(reason: str) -> int:
    """Table 0357 code for a rejection reason worded as the order service words them."""
    text = reason.lower()
    if text == "required" or text.endswith(": required"):
        return 101
    if any(word in text for word in ("not supported", "not subscribed", "is not a valid", "not an administrative")):
        return 103
    if any(word in text for word in ("unknown", "no order", "none has identifier type")):
        return 204
    if "already used" in text or "duplicate" in text:
        return 205
    if any(word in text for word in ("is not a", "is not an", "not recognised", "longer than", "invalid")):
        return 102
    return 207


def ack_build(*, code: str, header: Header | None, errors: list[AckError] = (), control_id: str | None = None) -> str:
    """The ACK text (segments separated by CR, standard separators |^~\\&)."""
    version = (header.version if header else "") or DEFAULT_VERSION
    trigger = header.trigger_event if header else ""
    own_application = getattr(settings, "IRIS_HL7_APPLICATION", "IRIS")
    own_facility = getattr(settings, "IRIS_HL7_FACILITY", "IRIS")
    msh = [
        "MSH", "^~\\&",
        _mirrored(header, 5) or own_application, _mirrored(header, 6) or own_facility,
        _mirrored(header, 3), _mirrored(header, 4),
        timezone.now().strftime("%Y%m%d%H%M%S+0000"), "",
        # MSG.3 (message structure) exists from v2.3.1 on
        f"ACK^{_escape(trigger)}^ACK" if _version_tuple(version) >= (2, 3, 1) else f"ACK^{_escape(trigger)}",
        control_id or uuid.uuid4().hex[:20],
        _escape(header.field(11)) if header and header.field(11) else "P",
        _escape(version),
    ]
    received_id = header.control_id if header else ""
    msa = ["MSA", code, _escape(received_id, keep_escapes=True)]
    if errors:
        msa.append(_escape(errors[0].reason[:80]))
    segments = ["|".join(msh), "|".join(msa)]
    segments += _err_segments(errors, version)
    return "\r".join(segments)


def _err_segments(errors: list[AckError], version: str) -> list[str]:
    if not errors:
        return []
    if _version_tuple(version) < (2, 5):
        # ERR-1 Error Code and Location (ELD), repeating: segment^sequence^field^code&text&HL70357
        reps = []
        for error in errors:
            where = error.location
            reps.append("^".join([
                where.segment if where else "", str(where.sequence) if where else "",
                str(where.field) if where and where.field is not None else "",
                f"{error.code}&{_escape(error.reason)}&HL70357",
            ]))
        return ["ERR|" + "~".join(reps)]
    segments = []
    for error in errors:
        where = error.location
        erl = ""
        if where:
            erl = "^".join([where.segment, str(where.sequence),
                            str(where.field) if where.field is not None else "",
                            "1" if where.field is not None else "",
                            str(where.component) if where.component is not None else ""]).rstrip("^")
        hl7_code = f"{error.code}^{ERROR_TEXTS.get(error.code, '')}^HL70357"
        segments.append("|".join(["ERR", "", erl, hl7_code, "E", "", "", "", _escape(error.reason)]))
    return segments


def _mirrored(header: Header | None, number: int) -> str:
    """MSH-n of the message, re-joined with our separators (its escape sequences kept when it
    uses the standard escape character)."""
    if header is None:
        return ""
    keep_escapes = header.separators.escape == "\\"
    parts = [_escape(part, keep_escapes=keep_escapes) for part in header.components(number)]
    return "^".join(parts).rstrip("^")


def _escape(value: str, *, keep_escapes: bool = False) -> str:
    """HL7 escape sequences for our separators; control characters become one space."""
    value = _CONTROL_CHARS.sub(" ", value)
    if not keep_escapes:
        value = value.replace("\\", "\\E\\")
    return value.replace("|", "\\F\\").replace("^", "\\S\\").replace("~", "\\R\\").replace("&", "\\T\\")


def _version_tuple(version: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", version)
    return tuple(int(n) for n in numbers[:3]) if numbers else (2, 4)


__all__ = ["ACCEPT", "ERROR", "REJECT", "AckError", "ack_build", "error_code_for"]
