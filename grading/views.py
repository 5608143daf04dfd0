"""The grader workspace: queue, claim/release, image viewer and grading form (SPEC section 5).

Graders only reach orders through ``grader_orders`` (licensed states, human-read types): any
other order is a 404 (R1, R9). Every order view is audited (R14)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iris_portal.audit import audit_record
from orders.canonical import RequestRejected
from orders.models import Order

from . import catalogue as cat
from .forms import eyes_from_post, grading_form
from .selectors import GRADABLE_STATUSES, grader_orders, grading_current, grading_queue
from .services import GradingForbidden, evaluation_labels, grading_reopen, grading_submit, order_claim, order_release


def _grader(request):
    if not request.user.is_grader:
        raise Http404("Not a grader")
    return request.user


@login_required
@require_GET
def queue(request):
    grader = _grader(request)
    orders = list(grading_queue(user=grader)[:200])
    audit_record(request=request, action="list", object_type="grading_queue")
    now = timezone.now()
    rows = [{"order": o, "mine": getattr(getattr(o, "claim", None), "grader_id", None) == grader.pk
             and o.claim.expires_at > now} for o in orders]
    return render(request, "grading/queue.html", {"rows": rows})


@login_required
@require_POST
def claim(request, pk: int):
    grader = _grader(request)
    order = get_object_or_404(grader_orders(user=grader), pk=pk)
    try:
        order_claim(order=order, grader=grader)
    except RequestRejected as exc:
        messages.error(request, exc.message)
        return redirect("grading:queue")
    return redirect("grading:order", pk=order.pk)


@login_required
@require_POST
def release(request, pk: int):
    grader = _grader(request)
    order = get_object_or_404(grader_orders(user=grader), pk=pk)
    order_release(order=order, grader=grader)
    messages.info(request, f"Order {order.local_id} is back in the queue.")
    return redirect("grading:queue")


@login_required
@require_http_methods(["GET", "POST"])
def order_grade(request, pk: int):
    """The workspace of one order: images side by side and the grading form (for the grader
    holding the claim); the grading summary once complete."""
    grader = _grader(request)
    order = get_object_or_404(grader_orders(user=grader).select_related("claim", "patient", "site", "organization"), pk=pk)
    audit_record(request=request, action="view", object_type="order", object_id=order.pk)
    catalogue = cat.catalogue_for_types(order.evaluation_types)
    claim = getattr(order, "claim", None)  # None when unclaimed (the reverse one-to-one raises AttributeError)
    holds_claim = claim is not None and claim.grader_id == grader.pk and claim.expires_at > timezone.now()
    eyes = None
    if request.method == "POST":
        if not holds_claim:
            messages.error(request, "Claim the order before grading it (your claim may have expired).")
            return redirect("grading:order", pk=order.pk)
        eyes = eyes_from_post(request.POST, catalogue)
        try:
            grading_submit(order=order, grader=grader, od=eyes["OD"], os=eyes["OS"], notes=request.POST.get("notes", ""))
        except GradingForbidden as exc:
            messages.error(request, exc.message)
            return redirect("grading:queue")
        except RequestRejected as exc:
            return _render_workspace(request, order, catalogue, eyes, holds_claim, errors=exc.errors, status=400)
        messages.success(request, f"Order {order.local_id} graded: complete.")
        return redirect("grading:order", pk=order.pk)
    return _render_workspace(request, order, catalogue, eyes, holds_claim)


def _render_workspace(request, order: Order, catalogue, eyes, holds_claim, errors=(), status=200):
    images = list(order.images.all())
    default_status = {side: "gradable" if any(i.laterality in (side, "OU") for i in images) else ""
                      for side in ("OD", "OS")}
    return render(request, "grading/workspace.html", {
        "order": order, "holds_claim": holds_claim, "gradable": order.status in GRADABLE_STATUSES,
        "evaluation": evaluation_labels(order), "errors": errors,
        "images_od": [i for i in images if i.laterality in ("OD", "OU")],
        "images_os": [i for i in images if i.laterality in ("OS", "OU")],
        "eye_forms": grading_form(catalogue, eyes, default_status), "catalogue": catalogue,
        "ungradable_reasons": cat.UNGRADABLE_REASONS, "other_subsets": [s.value for s in cat.OtherSubset],
        "notes": request.POST.get("notes", "") if request.method == "POST" else "",
        "grading": grading_current(order=order),
    }, status=status)


@login_required
@require_POST
def reopen(request, pk: int):
    """Platform staff send a graded order back for a corrected grading."""
    if not request.user.is_staff:
        raise Http404
    order = get_object_or_404(Order, pk=pk)
    try:
        grading_reopen(order=order, by=request.user)
    except GradingForbidden:
        raise PermissionDenied from None
    except RequestRejected as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"Order {order.local_id} reopened for a corrected grading.")
    return redirect("admin:grading_grading_changelist")
