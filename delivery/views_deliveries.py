"""Delivery pages: portal pickup (pending results downloaded as one zip with a manifest), the
delivery record of an order (resend for organization admins) and the organization's delivery
monitor (failures and stuck deliveries, with retry). Every query is scoped to the user's
organization and sites (R1); downloads and views are audited (R14)."""
import csv
import io
import json
import zipfile

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from iris_portal.audit import audit_record
from iris_portal.permissions import can_administer_organization, can_see_organization_data, role_required

from .filenames import filename_safe
from .models import ResultDocument
from .selectors import deliveries_awaiting_pickup, deliveries_troubled, deliveries_visible
from .services import deliveries_pickup, delivery_resend, delivery_retry

MANIFEST_COLUMNS = ["file", "delivery_id", "order_id", "order_local_id", "patient_local_id", "site_local_id",
                    "result_code", "document_kind", "generated_at"]


@role_required(can_see_organization_data)
@require_GET
def pickup_list(request):
    """"New results": what waits for download."""
    pending = list(deliveries_awaiting_pickup(user=request.user)[:500])
    audit_record(request=request, action="list", object_type="delivery_pickup")
    return render(request, "delivery/deliveries/pickup.html", {"pending": pending})


@role_required(can_see_organization_data)
@require_POST
def pickup_download(request):
    """All pending results as one zip with manifest.json and manifest.csv; they become retrieved."""
    pending = list(deliveries_awaiting_pickup(user=request.user).select_related("order__patient", "order__site")[:500])
    if not pending:
        messages.info(request, "There are no new results to download.")
        return redirect("delivery:pickup")
    archive, rows = io.BytesIO(), []
    documents = {(d.result_set_id, d.kind): d for d in ResultDocument.objects.filter(
        result_set_id__in=[delivery.result_set_id for delivery in pending])}
    included = []
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:
        for delivery in pending:
            document = documents.get((delivery.result_set_id, delivery.document_kind))
            if document is None:
                continue
            order = delivery.order
            extension = document.file.name.rsplit(".", 1)[-1]
            name = f"{filename_safe(order.local_id)}-{delivery.result_set.result_code}-{delivery.pk}.{extension}"
            with document.file.open("rb") as handle:
                bundle.writestr(name, handle.read())
            rows.append({"file": name, "delivery_id": delivery.pk, "order_id": order.pk,
                         "order_local_id": order.local_id, "patient_local_id": order.patient.local_id,
                         "site_local_id": order.site.local_id, "result_code": delivery.result_set.result_code,
                         "document_kind": delivery.document_kind,
                         "generated_at": delivery.result_set.timestamp.isoformat()})
            included.append(delivery)
        bundle.writestr("manifest.json", json.dumps({"results": rows}, indent=2))
        table = io.StringIO()
        writer = csv.DictWriter(table, fieldnames=MANIFEST_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        bundle.writestr("manifest.csv", table.getvalue())
    deliveries_pickup(deliveries=included)
    audit_record(request=request, action="download", object_type="delivery_pickup",
                 object_id=",".join(str(d.pk) for d in included)[:200])
    response = HttpResponse(archive.getvalue(), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="iris-results-{timezone.now():%Y%m%d-%H%M%S}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response


@role_required(can_administer_organization)
@require_POST
def delivery_resend_view(request, pk: int):
    """Send a result to one recipient again (the order page's delivery record)."""
    return _delivery_action(request, pk, "resend", delivery_resend,
                            done="The result will be sent again to {name}.",
                            refused="This result cannot be sent again (charges are sent once, or it is being sent now).")


@role_required(can_administer_organization)
@require_POST
def delivery_retry_view(request, pk: int):
    """Retry a failed or given-up delivery now (the monitor)."""
    return _delivery_action(request, pk, "retry", delivery_retry, done="Delivery to {name} will be retried now.",
                            refused="This delivery is not waiting for a retry.")


def _delivery_action(request, pk: int, action: str, service, *, done: str, refused: str):
    delivery = get_object_or_404(deliveries_visible(user=request.user), pk=pk)
    if service(delivery=delivery):
        messages.success(request, done.format(name=delivery.endpoint.name))
    else:
        messages.error(request, refused)
    audit_record(request=request, action=action, object_type="delivery", object_id=delivery.pk)
    return redirect(request.POST["next"] if _safe_next(request) else "delivery:monitor")


@role_required(can_administer_organization)
@require_GET
def monitor(request):
    troubled = list(deliveries_troubled(user=request.user).prefetch_related("attempt_log")[:500])
    audit_record(request=request, action="list", object_type="delivery_monitor")
    return render(request, "delivery/deliveries/monitor.html", {"troubled": troubled, "now": timezone.now()})


def _safe_next(request) -> bool:
    target = request.POST.get("next", "")
    return target.startswith("/") and not target.startswith("//")

