"""Whether a report template may be saved: known placeholders only, well formed, safe HTML.
Used by the editor, the admin and the template service alike (no model imports here, so form
fields can use ``report_template_validator``)."""
import difflib
import re

from django.core.exceptions import ValidationError

from .html_safety import html_errors
from .tokens import TOKENS

MAX_TEMPLATE_CHARS = 400_000
PLACEHOLDER = re.compile(r"\[\[([A-Z0-9_]+)\]\]")
_ANY_BRACKETS = re.compile(r"\[\[(.*?)\]\]", re.S)


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def report_template_errors(html: str) -> list[str]:
    """Why a template may not be saved: unknown or malformed placeholders (with their line) and
    unsafe HTML. Empty when it may."""
    if len(html) > MAX_TEMPLATE_CHARS:
        return [f"the template is too large ({len(html):,} characters; at most {MAX_TEMPLATE_CHARS:,})"]
    if not html.strip():
        return ["the template is empty"]
    errors: list[str] = []
    for match in _ANY_BRACKETS.finditer(html):
        name = match.group(1)
        if name in TOKENS:
            continue
        hint = difflib.get_close_matches(name.strip().upper(), TOKENS, n=1)
        suggestion = f"; did you mean [[{hint[0]}]]?" if hint else ""
        errors.append(f"line {_line_of(html, match.start())}: unknown placeholder [[{name[:60]}]]{suggestion}")
    rest = _ANY_BRACKETS.sub("", html)
    stray = re.search(r"\[\[|\]\]", rest)
    if stray:
        errors.append(f"placeholder brackets '{stray.group(0)}' are not closed (near: "
                      f"{rest[max(0, stray.start() - 20):stray.end() + 20].strip()!r})")
    return errors + html_errors(html)


def report_template_validator(html: str) -> None:
    """A form-field validator: every problem of the template, at once."""
    errors = report_template_errors(html)
    if errors:
        raise ValidationError(errors)
