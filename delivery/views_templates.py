"""Report template editor for organization admins (ReportTemplate.md, "Administrator
application"): templates per evaluation type at organization and site level, a live preview on a
sample order (no real patient), and the report settings (paper size, disclaimer, logo).

Only organization admins reach these pages, and only for their own organization: another
organization's site, or an evaluation type the organization does not subscribe to, is a 404."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iris_portal.audit import audit_record
from orders.reference import EVALUATION_TYPE_BY_CODE
from organizations.models import Site

from .models import PaperSize, ReportSettings, ReportTemplate
from .results.report import report_html, report_settings_resolve
from .results.sample import sample_report
from .results.template_services import (
    report_settings_save, report_template_reset, report_template_save,
)
from .results.templates import report_template_resolve
from .results.validation import report_template_errors, report_template_validator
from .results.tokens import TOKENS


class TemplateForm(forms.Form):
    html = forms.CharField(widget=forms.Textarea(attrs={"rows": 30, "spellcheck": "false"}), strip=False,
                           validators=[report_template_validator])


class ReportSettingsForm(forms.Form):
    paper_size = forms.ChoiceField(choices=[("", "Inherit")] + list(PaperSize.choices), required=False,
                                   widget=forms.Select(attrs={"class": "form-select"}))
    disclaimer = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "class": "form-control"}), required=False,
                                 help_text="The [[DISCLAIMER]] line. Blank inherits.")
    logo = forms.FileField(required=False, help_text="PNG or JPEG, at most 1 MB. Blank keeps the current logo.",
                           widget=forms.ClearableFileInput(attrs={"class": "form-control"}))
    clear_logo = forms.BooleanField(required=False, label="Remove the logo (inherit)",
                                    widget=forms.CheckboxInput(attrs={"class": "form-check-input"}))


def _admin(request):
    user = request.user
    if not (user.is_org_admin and user.organization_id):
        raise Http404("Not an organization admin")
    return user


def _scope(request, evaluation_type: str | None = None, site_pk: int | None = None):
    user = _admin(request)
    organization = user.organization
    if evaluation_type is not None and (evaluation_type not in EVALUATION_TYPE_BY_CODE
                                        or evaluation_type not in (organization.evaluation_types or [])):
        raise Http404("No such evaluation type")
    site = get_object_or_404(Site, pk=site_pk, organization=organization) if site_pk is not None else None
    return user, organization, site


@login_required
@require_GET
def template_list(request):
    user, organization, _ = _scope(request)
    rows = ReportTemplate.objects.filter(organization=organization)
    custom = {(row.evaluation_type, row.site_id) for row in rows}
    sites = list(organization.sites.order_by("name"))
    types = [EVALUATION_TYPE_BY_CODE[code] for code in organization.evaluation_types if code in EVALUATION_TYPE_BY_CODE]
    table = [{"type": info, "custom": (info.code, None) in custom,
              "sites": [{"site": site, "custom": (info.code, site.pk) in custom} for site in sites]} for info in types]
    settings_rows = {row.site_id: row for row in ReportSettings.objects.filter(organization=organization)}
    audit_record(request=request, action="list", object_type="report_template")
    return render(request, "delivery/templates_list.html", {
        "table": table, "sites": sites, "organization_settings": settings_rows.get(None),
        "site_settings": {site.pk for site in sites if site.pk in settings_rows},
    })


@login_required
@require_http_methods(["GET", "POST"])
def template_edit(request, evaluation_type: str, site_pk: int | None = None):
    user, organization, site = _scope(request, evaluation_type, site_pk)
    here = ReportTemplate.objects.filter(organization=organization, site=site, evaluation_type=evaluation_type).first()
    # What applies without an override here: the organization's template for a site, else the default.
    inherited = report_template_resolve(organization=organization if site else None, site=None,
                                        evaluation_type=evaluation_type)
    if request.method == "POST" and request.POST.get("action") == "reset":
        if report_template_reset(organization=organization, site=site, evaluation_type=evaluation_type):
            audit_record(request=request, action="delete", object_type="report_template", object_id=here.pk)
            messages.success(request, "The template now follows the inherited one.")
        return redirect(request.path)
    form = TemplateForm(request.POST or None, initial={"html": here.html if here else inherited.html})
    if request.method == "POST" and form.is_valid():
        template = report_template_save(organization=organization, site=site, evaluation_type=evaluation_type,
                                        html=form.cleaned_data["html"], by=user)
        audit_record(request=request, action="change", object_type="report_template", object_id=template.pk)
        messages.success(request, "Template saved. Results generated from now on use it.")
        return redirect(request.path)
    audit_record(request=request, action="view", object_type="report_template", object_id=here.pk if here else "")
    return render(request, "delivery/template_edit.html", {
        "form": form, "evaluation_type": EVALUATION_TYPE_BY_CODE[evaluation_type], "site": site, "custom": here,
        "inherited_level": inherited.level, "tokens": sorted(TOKENS.values(), key=lambda t: (not t.documented, t.name)),
    })


def _sample_html(organization, site, evaluation_type: str, html: str, *, embed: bool) -> str:
    settings = report_settings_resolve(organization=organization, site=site)
    report = sample_report(evaluation_type, logo=settings.logo, disclaimer=settings.disclaimer,
                           paper_size=settings.paper_size, organization_name=organization.name)
    return report_html(report, html, embed_images=embed)


@login_required
@require_POST
def template_preview(request, evaluation_type: str, site_pk: int | None = None):
    """The editor's live preview: the posted (unsaved) template on the sample order, as an HTML
    fragment (a sandboxed iframe, or the validation errors), or as a PDF with ``format=pdf``."""
    user, organization, site = _scope(request, evaluation_type, site_pk)
    html = request.POST.get("html", "")
    errors = report_template_errors(html)
    if request.POST.get("format") == "pdf":
        if errors:
            return render(request, "delivery/_template_preview.html", {"errors": errors}, status=400)
        from .results.pdf import html_to_pdf  # WeasyPrint loads only when a PDF is asked for

        pdf = html_to_pdf(_sample_html(organization, site, evaluation_type, html, embed=False))
        response = HttpResponse(pdf, content_type="application/pdf")
        response["Content-Disposition"] = f'inline; filename="preview-{evaluation_type}.pdf"'
        return response
    preview = "" if errors else _sample_html(organization, site, evaluation_type, html, embed=True)
    return render(request, "delivery/_template_preview.html", {"errors": errors, "preview": preview})


@login_required
@require_http_methods(["GET", "POST"])
def report_settings_edit(request, site_pk: int | None = None):
    user, organization, site = _scope(request, None, site_pk)
    row = ReportSettings.objects.filter(organization=organization, site=site).first()
    initial = {"paper_size": row.paper_size, "disclaimer": row.disclaimer} if row else {}
    form = ReportSettingsForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            row = report_settings_save(organization=organization, site=site, by=user,
                                       paper_size=form.cleaned_data["paper_size"],
                                       disclaimer=form.cleaned_data["disclaimer"], logo=form.cleaned_data["logo"],
                                       clear_logo=form.cleaned_data["clear_logo"])
        except ValidationError as exc:
            for field, errors in exc.message_dict.items():
                form.add_error(field if field in form.fields else None, errors)
        else:
            audit_record(request=request, action="change", object_type="report_settings", object_id=row.pk)
            messages.success(request, "Report settings saved.")
            return redirect(request.path)
    audit_record(request=request, action="view", object_type="report_settings", object_id=row.pk if row else "")
    return render(request, "delivery/report_settings.html", {
        "form": form, "site": site, "current": row,
        "effective": report_settings_resolve(organization=organization, site=site),
    })
