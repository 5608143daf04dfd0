"""PDF report (WeasyPrint) from the report template."""
from ..pdf import html_to_pdf
from ..report import report_html

MEDIA_TYPE = "application/pdf"
EXTENSION = "pdf"


def render(context) -> bytes:
    return html_to_pdf(report_html(context.report, context.template.html, embed_images=False))
