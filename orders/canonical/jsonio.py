"""JSON reading that accepts what customers really send: a UTF-8 BOM and trailing commas (the
published IRIS example has one). Anything else that is not JSON is refused with its position."""
import json
import re

from .errors import FieldError, RequestRejected

# A comma followed only by whitespace and a closing bracket, outside strings.
_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|,(\s*[}\]])', re.S)


def _blank_trailing_commas(text: str) -> str:
    """Replace each trailing comma by a space: same length, so error positions stay true."""
    return _TOKENS.sub(lambda m: " " + m.group(1) if m.group(1) is not None else m.group(0), text)


def loads_lenient(raw: str | bytes) -> object:
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise RequestRejected(FieldError("", f"message is not UTF-8 text (byte {exc.start})")) from None
    text = raw.lstrip("\ufeff")
    if not text.strip():
        raise RequestRejected(FieldError("", "message is empty"))
    try:
        return json.loads(text)
    except RecursionError:
        raise RequestRejected(FieldError("", "JSON is nested too deeply")) from None
    except json.JSONDecodeError:
        try:
            return json.loads(_blank_trailing_commas(text))
        except RecursionError:
            raise RequestRejected(FieldError("", "JSON is nested too deeply")) from None
        except json.JSONDecodeError as exc:
            raise RequestRejected(FieldError(
                "", f"invalid JSON at line {exc.lineno} column {exc.colno} (char {exc.pos}): {exc.msg}"
            )) from None
