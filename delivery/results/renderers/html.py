"""HTML report: the same template as the PDF, as one self-contained file (images embedded)."""
from ..report import report_html

MEDIA_TYPE = "text/html; charset=utf-8"
EXTENSION = "html"


def render(context) -> bytes:
    return report_html(context.report, context.template.html, embed_images=True).encode("utf-8")
