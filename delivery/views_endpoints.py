"""Endpoint administration for organization admins: list, create and edit endpoints with each
transport's own configuration fields, and a "send test" button that delivers a sample result
(no patient) and shows the outcome. Another organization's endpoint is a 404."""
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iris_portal.audit import audit_record
from iris_portal.permissions import can_administer_organization, role_required

from .forms import EndpointForm
from .models import Endpoint
from .selectors import endpoints_of
from .services import endpoint_save
from .transports import TRANSPORTS, ConfigError, DocumentKind, transport_choices
from .transports.send_test import transport_test


@role_required(can_administer_organization)
@require_GET
def endpoint_list(request):
    endpoints = list(endpoints_of(user=request.user))
    audit_record(request=request, action="list", object_type="delivery_endpoint")
    return render(request, "delivery/endpoints/list.html", {"endpoints": endpoints, "kinds": transport_choices()})


@role_required(can_administer_organization)
@require_http_methods(["GET", "POST"])
def endpoint_create(request, kind: str):
    if kind not in TRANSPORTS:
        raise Http404("Unknown endpoint kind")
    return _edit(request, Endpoint(organization=request.user.organization, kind=kind))


@role_required(can_administer_organization)
@require_http_methods(["GET", "POST"])
def endpoint_edit(request, pk: int):
    return _edit(request, get_object_or_404(endpoints_of(user=request.user), pk=pk))


def _edit(request, endpoint: Endpoint):
    form = EndpointForm(request.POST or None, instance=endpoint, kind=endpoint.kind,
                        organization=request.user.organization)
    outcome = None
    if request.method == "POST" and form.is_valid():
        config = form.config()
        if not form.errors:
            try:
                if "send_test" in request.POST:
                    outcome = _test(form, config, endpoint)
                else:
                    endpoint_save(endpoint=form.save(commit=False), config=config)
                    audit_record(request=request, action="change", object_type="delivery_endpoint",
                                 object_id=endpoint.pk)
                    messages.success(request, f"Endpoint \"{endpoint.name}\" saved.")
                    return redirect("delivery:endpoints")
            except ConfigError as exc:
                form.config_errors_show(exc)
    return render(request, "delivery/endpoints/edit.html", {"form": form, "endpoint": endpoint, "outcome": outcome})


def _test(form: EndpointForm, config: dict, endpoint: Endpoint):
    outcome = transport_test(endpoint.kind, config, document_kind=DocumentKind(form.cleaned_data["payload_kind"]),
                             client_guid=str(endpoint.organization.client_guid).upper(),
                             organization_id=endpoint.organization_id)
    if outcome.field_errors:
        form.config_errors_show(ConfigError(outcome.field_errors))
    return outcome


@role_required(can_administer_organization)
@require_POST
def endpoint_test(request, pk: int):
    """The list page's "send test" for a stored endpoint."""
    endpoint = get_object_or_404(endpoints_of(user=request.user), pk=pk)
    outcome = transport_test(endpoint.kind, endpoint.config, document_kind=DocumentKind(endpoint.payload_kind),
                             client_guid=str(endpoint.organization.client_guid).upper(),
                             organization_id=endpoint.organization_id)
    audit_record(request=request, action="test", object_type="delivery_endpoint", object_id=endpoint.pk)
    (messages.success if outcome.success else messages.error)(request, outcome.message)
    return redirect("delivery:endpoints")
