"""Care plans for organization admins (Careplans.md): see the effective catalogue of the
organization or one of its sites, override a plan's text, priority and level, send a finding to
another plan, or go back to the inherited plan. Scoped to the admin's organization (R1)."""
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from iris_portal.audit import audit_record
from orders.reference import ALL_EVALUATION_TYPE_CODES, EVALUATION_TYPE_CHOICES

from .careplans import (
    care_plan_override, care_plan_override_remove, care_plan_rule_override, care_plan_rules_effective,
    care_plans_effective,
)
from .models import CareLevel


class PlanForm(forms.Form):
    key = forms.SlugField(max_length=50)
    title = forms.CharField(max_length=200)
    instructions = forms.CharField(widget=forms.Textarea)
    priority = forms.IntegerField(min_value=0, max_value=10_000)
    level = forms.ChoiceField(choices=CareLevel.choices)


class RuleForm(forms.Form):
    finding = forms.CharField(max_length=100)
    result = forms.CharField(max_length=100, required=False)
    plan_key = forms.SlugField(max_length=50)


def _scope(request):
    """(organization, site or None, evaluation type) of the request; 404 outside the admin's
    organization."""
    user = request.user
    if not (user.is_org_admin and user.organization_id):
        raise Http404
    data = request.POST if request.method == "POST" else request.GET
    code = data.get("type") or "DR"
    if code not in ALL_EVALUATION_TYPE_CODES:
        raise Http404
    site = None
    if data.get("site"):
        site = get_object_or_404(user.organization.sites, pk=data.get("site"))
    return user.organization, site, code


def _back(organization, site, code):
    url = reverse("grading:care-plans") + f"?type={code}"
    return redirect(url + (f"&site={site.pk}" if site else ""))


@login_required
@require_GET
def care_plans(request):
    organization, site, code = _scope(request)
    audit_record(request=request, action="view", object_type="care_plans", object_id=code)
    return render(request, "grading/care_plans.html", {
        "plans": care_plans_effective(organization=organization, site=site, evaluation_type=code),
        "rules": care_plan_rules_effective(organization=organization, site=site, evaluation_type=code),
        "type": code, "types": EVALUATION_TYPE_CHOICES, "site": site, "sites": organization.sites.all(),
        "levels": CareLevel.choices, "level_here": "site" if site else "organization",
    })


def _save(request, form_class, service, done: str):
    """Validate ``form_class`` and call ``service`` at the request's level (organization or site)."""
    organization, site, code = _scope(request)
    form = form_class(request.POST)
    if form.is_valid():
        service(organization=organization, site=site, evaluation_type=code, **form.cleaned_data)
        messages.success(request, done.format(**form.cleaned_data))
    else:
        messages.error(request, "; ".join(f"{field}: {' '.join(errs)}" for field, errs in form.errors.items()))
    return _back(organization, site, code)


@login_required
@require_POST
def care_plan_save(request):
    return _save(request, PlanForm, care_plan_override, "Care plan '{title}' saved.")


@login_required
@require_POST
def care_plan_reset(request):
    organization, site, code = _scope(request)
    care_plan_override_remove(organization=organization, site=site, evaluation_type=code, key=request.POST.get("key", ""))
    messages.info(request, "The inherited care plan applies again.")
    return _back(organization, site, code)


@login_required
@require_POST
def care_plan_rule_save(request):
    return _save(request, RuleForm, care_plan_rule_override, "{finding} now leads to '{plan_key}'.")
