"""HTML escaping for markup built in Python (table cells, the filter bar, the navigation bar)."""
import html

from django.utils.functional import Promise


def html_text(value) -> str:
    """``conditional_escape(value)`` as a plain string, without the lazy-argument checks that
    make Django's ``escape`` and ``format_html`` cost more than the rest of a table cell (same
    output)."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))
