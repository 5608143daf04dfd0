"""The report document: the template filled from ReportData, plus what every report carries
whatever its template — identifiers in the document metadata (title, subject, keywords and
named entries, which WeasyPrint writes into the PDF's Info dictionary) and the page setup
(paper size, footer with the order id and "Page x of y")."""
import re
from dataclasses import dataclass

from django.db.models import Q
from django.utils.html import escape

from delivery.models import ReportSettings
from organizations.models import Organization, Site

from .report_data import Picture, ReportData
from .report_types import report_type
from .templates import report_template_fill

DEFAULT_DISCLAIMER = (
    "This retinal screening does not replace a comprehensive dilated eye examination. Patients with visual "
    "symptoms or known eye disease should be referred to an eye care professional regardless of this result."
)
_PAGE_SIZES = {"letter": "letter", "a4": "A4"}
_HEAD = re.compile(r"<head(\s[^>]*)?>", re.I)
_HEAD_END = re.compile(r"</head\s*>", re.I)
# The footer's "of <total>"; pdf.py renders a one-page report with the total written as 1.
PAGE_TOTAL = '" of " counter(pages)'
PAGE_TOTAL_ONE = '" of 1"'


@dataclass(frozen=True)
class EffectiveReportSettings:
    paper_size: str
    disclaimer: str
    logo: Picture | None


def report_settings_resolve(*, organization: Organization, site: Site | None) -> EffectiveReportSettings:
    """Site settings over organization settings over the built-in defaults, field by field."""
    scope = Q(organization=organization, site=None)
    if site is not None:
        scope |= Q(site=site)
    rows = list(ReportSettings.objects.filter(scope))
    ordered = [next((row for row in rows if site is not None and row.site_id == site.pk), None),
               next((row for row in rows if row.site_id is None), None)]

    def pick(attr: str):
        return next((getattr(row, attr) for row in ordered if row is not None and getattr(row, attr)), None)

    logo = pick("logo")
    media_type = "image/png" if logo and logo.name.lower().endswith(".png") else "image/jpeg"
    return EffectiveReportSettings(
        paper_size=pick("paper_size") or "letter",
        disclaimer=pick("disclaimer") or DEFAULT_DISCLAIMER,
        logo=Picture(media_type=media_type, storage_name=logo.name) if logo else None,
    )


def css_string(value: str) -> str:
    """A CSS string literal that cannot end the string or the <style> element."""
    safe = "".join(ch if ch.isalnum() or ch in " .,#:/_-" else f"\\{ord(ch):06x}" for ch in str(value))
    return f'"{safe}"'


def identifiers(report: ReportData) -> dict[str, str]:
    """Named identifiers written into the document metadata (PDF Info keys, lower-cased)."""
    result = report.order_result
    return {
        "iris-order-id": str(result["Order"]["PatientOrderId"]),
        "iris-order-local-id": result["Order"]["LocalId"],
        "iris-patient-id": str(result["Patient"]["PatientId"]),
        "iris-patient-local-id": result["Patient"]["LocalId"],
        "iris-site-local-id": result["Site"]["LocalId"],
        "iris-result-code": result.get("ResultCode") or "",
        "iris-transaction-id": result.get("TransactionId") or "",
    }


def _head_block(report: ReportData) -> str:
    ids = identifiers(report)
    title = f"{report_type(report.primary_evaluation_type).title} – Order {ids['iris-order-local-id']}"
    subject = (f"Retinal screening report of order {ids['iris-order-local-id']} (IRIS order {ids['iris-order-id']}) "
               f"for patient {ids['iris-patient-local-id']} (IRIS patient {ids['iris-patient-id']}) "
               f"at site {ids['iris-site-local-id']}; result code {ids['iris-result-code']}")
    keywords = ", ".join([f"order:{ids['iris-order-local-id']}", f"iris-order:{ids['iris-order-id']}",
                          f"patient:{ids['iris-patient-local-id']}", f"iris-patient:{ids['iris-patient-id']}",
                          f"site:{ids['iris-site-local-id']}", f"result-code:{ids['iris-result-code']}",
                          f"transaction:{ids['iris-transaction-id']}"])
    metas = [("description", subject), ("keywords", keywords), ("author", report.organization_name or "IRIS Portal"),
             ("generator", "IRIS Portal"), *ids.items()]
    created = report.order_result.get("Timestamp")
    if created:
        metas.append(("dcterms.created", created))
    tags = "".join(f'<meta name="{escape(name)}" content="{escape(value)}">' for name, value in metas)
    return f"<title>{escape(title)}</title>{tags}"


def _page_style(report: ReportData) -> str:
    order = report.order_result["Order"]
    footer = f"Order {order['LocalId']} · IRIS #{order['PatientOrderId']}"
    size = _PAGE_SIZES.get(report.paper_size, "letter")
    return (
        "<style>@page { size: %s; margin: 12mm 13mm 16mm 13mm;"
        " @bottom-left { content: %s; font: 7.5pt Arial, 'Liberation Sans', sans-serif; color: #7b8794; }"
        " @bottom-right { content: \"Page \" counter(page) %s;"
        " font: 7.5pt Arial, 'Liberation Sans', sans-serif; color: #7b8794; } }</style>"
    ) % (size, css_string(footer), PAGE_TOTAL)


def report_html(report: ReportData, template_html: str, *, embed_images: bool) -> str:
    """The complete report HTML. ``embed_images``: data: URIs (a standalone HTML file) rather
    than file:// URLs inside MEDIA_ROOT (for the PDF renderer)."""
    body = report_template_fill(template_html, report, embed_images=embed_images)
    head, style = _head_block(report), _page_style(report)
    match = _HEAD.search(body)
    if match:
        body = body[:match.end()] + head + body[match.end():]
        end = _HEAD_END.search(body, match.end())
        return body[:end.start()] + style + body[end.start():] if end else body.replace(head, head + style, 1)
    return f"<!DOCTYPE html><html><head><meta charset=\"utf-8\">{head}{style}</head><body>{body}</body></html>"
