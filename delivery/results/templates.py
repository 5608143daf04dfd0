"""Report templates: the built-in default per evaluation type, inheritance (site ->
organization -> host default row -> built-in), validation and placeholder filling.

ReportTemplate.md: "If a template does not exist at the site level, the system checks for a
template configured at the Organization level. If a template does not exist there, the default
template of that type is used." A template is validated before it is saved (unknown tokens and
unsafe HTML are refused), so filling never meets a surprise."""
import html as html_lib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from string import Template

from django.db.models import Q

from delivery.models import ReportTemplate
from organizations.models import Organization, Site

from .report_data import ReportData
from .report_types import report_type
from .tokens import TOKENS
from .validation import PLACEHOLDER

TEMPLATE_DIR = Path(__file__).resolve().parent / "report_templates"


@dataclass(frozen=True)
class ResolvedTemplate:
    html: str
    source: str  # "site:<pk>", "organization:<pk>", "host:<pk>" or "builtin:<type>"

    @property
    def level(self) -> str:
        return self.source.split(":", 1)[0]


@cache
def builtin_template(evaluation_type: str) -> str:
    """The shipped default template of an evaluation type: one layout, per-type title, text and
    accent colour (report_types.py)."""
    info = report_type(evaluation_type)
    layout = Template((TEMPLATE_DIR / "default.html").read_text(encoding="utf-8"))
    return layout.substitute(accent=html_lib.escape(info.accent))


def report_template_resolve(*, organization: Organization | None, site: Site | None,
                            evaluation_type: str) -> ResolvedTemplate:
    """The template in force for a site (or an organization when ``site`` is None)."""
    scope = Q(organization=None, site=None)
    if organization is not None:
        scope |= Q(organization=organization, site=None)
    if site is not None:
        scope |= Q(site=site)
    rows = list(ReportTemplate.objects.filter(scope, evaluation_type=evaluation_type).only(
        "pk", "organization_id", "site_id", "html"))
    for level, match in (("site", lambda r: r.site_id is not None),
                         ("organization", lambda r: r.site_id is None and r.organization_id is not None),
                         ("host", lambda r: r.organization_id is None)):
        row = next((r for r in rows if match(r)), None)
        if row is not None:
            return ResolvedTemplate(row.html, f"{level}:{row.pk}")
    return ResolvedTemplate(builtin_template(evaluation_type), f"builtin:{evaluation_type}")


def tokens_used(html: str) -> list[str]:
    return list(dict.fromkeys(PLACEHOLDER.findall(html)))


def report_template_fill(html: str, report: ReportData, *, embed_images: bool) -> str:
    """Replace every placeholder with its value; each token's value is computed once."""
    values = {name: TOKENS[name].value(report, embed_images) for name in tokens_used(html) if name in TOKENS}
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), ""), html)
