"""Cloud Direct dead letters: messages whose processing kept failing, with their error, and a
replay button. Integration administrators of the organization only; audited."""
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from iris_portal.audit import audit_record
from organizations.views_clouddirect import integration_admin_required

from .intake.clouddirect.dead_letters import dead_letter_list
from .intake.clouddirect.dead_letters import dead_letter_replay as dead_letter_replay_service
from .models import InboundStatus

LIST_LIMIT = 200


@integration_admin_required
@require_GET
def dead_letters(request):
    letters = dead_letter_list(user=request.user)
    audit_record(request=request, action="list", object_type="clouddirect_dead_letter")
    return render(request, "orders/clouddirect_dead_letters.html", {
        "letters": letters[:LIST_LIMIT], "total": letters.count(), "limit": LIST_LIMIT,
    })


@integration_admin_required
@require_POST
def dead_letter_replay(request, pk: int):
    inbound = get_object_or_404(dead_letter_list(user=request.user), pk=pk)
    inbound = dead_letter_replay_service(inbound=inbound, actor=request.user)
    audit_record(request=request, action="replay", object_type="inbound_message", object_id=pk)
    if inbound.status == InboundStatus.DEAD_LETTER:
        messages.error(request, f"Message {pk} failed again: {inbound.error}")
    elif inbound.status == InboundStatus.REJECTED:
        messages.warning(request, f"Message {pk} was processed and rejected: {inbound.error}")
    else:
        messages.success(request, f"Message {pk} was processed.")
    return redirect("orders:clouddirect-dead-letters")
