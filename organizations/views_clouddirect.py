"""Cloud Direct credentials: the connection URLs of the organization's write-only and read-only
Redis users. Integration administrators only (other roles 403); always the user's own
organization (another organization's credential is 404); every view and rotation is audited."""
import redis
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from iris_portal.audit import audit_record
from iris_portal.permissions import role_required
from iris_portal.scoping import scope_to_organization
from orders.intake.clouddirect.broker import stream_keys
from orders.intake.clouddirect.credentials import (
    connection_url, credential_password, credentials_provision, credentials_rotate,
)

from .models import CloudDirectCredential

BROKER_DOWN = "The Cloud Direct broker (Redis) is unreachable; nothing was changed. Try again later."


# Signed-in integration administrators of an organization; anyone else gets 403 on a page, and
# 404 on a page about one object (R1: as if the object were outside their organization).
integration_admin_required = role_required(lambda user: bool(user.is_integration_admin and user.organization_id))


@integration_admin_required
@require_GET
def credentials(request):
    organization = request.user.organization
    rows = []
    for credential in scope_to_organization(CloudDirectCredential.objects.all(), request.user).order_by("-kind"):
        password = credential_password(credential)
        rows.append({"credential": credential, "url": connection_url(credential, password) if password else None})
    audit_record(request=request, action="view", object_type="clouddirect_credentials", object_id=organization.pk)
    return render(request, "organizations/clouddirect_credentials.html", {
        "rows": rows, "keys": stream_keys(organization), "organization": organization,
        "complete": len(rows) == len(CloudDirectCredential.Kind.values),
    })


@integration_admin_required
@require_POST
def credentials_create(request):
    try:
        created = credentials_provision(organization=request.user.organization, actor=request.user)
    except redis.RedisError:
        messages.error(request, BROKER_DOWN)
    else:
        audit_record(request=request, action="create", object_type="clouddirect_credentials",
                     object_id=",".join(str(credential.pk) for credential in created))
        messages.success(request, "Cloud Direct credentials created.")
    return redirect("organizations:clouddirect-credentials")


@integration_admin_required
@require_POST
def credential_rotate(request, pk: int):
    credential = get_object_or_404(scope_to_organization(CloudDirectCredential.objects.all(), request.user), pk=pk)
    try:
        credentials_rotate(organization=credential.organization, kind=credential.kind, actor=request.user)
    except redis.RedisError:
        messages.error(request, BROKER_DOWN)
    else:
        audit_record(request=request, action="rotate", object_type="clouddirect_credential", object_id=pk)
        messages.success(request, f"{credential.get_kind_display()}: new password issued; the old URL no longer works.")
    return redirect("organizations:clouddirect-credentials")
