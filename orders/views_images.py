"""Image upload (camera operator / clinic staff) and image serving. Images are never served
without an authorization check: the order's organization (with site limits) or a grader
licensed for the order (R9); anything else is a 404 (R1). Every view is audited (R14)."""
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods

from grading.selectors import images_visible
from iris_portal.audit import audit_record

from .reference import ImageContext, Laterality
from .selectors import order_list
from .services.images import image_attach


@login_required
@require_GET
def image_file(request, pk: int):
    image = get_object_or_404(images_visible(user=request.user), pk=pk)
    audit_record(request=request, action="view", object_type="image", object_id=image.pk)
    response = FileResponse(image.file.open("rb"), content_type=image.content_type or "application/octet-stream")
    response["Cache-Control"] = "private, max-age=300"
    response["Content-Disposition"] = "inline"
    return response


def _uploadable_orders(user):
    if not (user.is_clinic_staff or user.is_org_admin):
        return order_list(user=user).none()
    return order_list(user=user)


@login_required
@require_http_methods(["GET", "POST"])
def image_upload(request, order_pk: int):
    """GET: a page with the upload widget (the order page includes the same fragment,
    ``grading/_image_upload.html``). POST: files with one laterality and image context each."""
    order = get_object_or_404(_uploadable_orders(request.user), pk=order_pk)
    if request.method == "GET":
        audit_record(request=request, action="view", object_type="order", object_id=order.pk)
        return render(request, "grading/image_upload_page.html", {
            "order": order, "images": list(order.images.all()), **image_upload_context()})
    files = request.FILES.getlist("file")
    lateralities = request.POST.getlist("laterality")
    contexts = request.POST.getlist("image_context")
    results = []
    for index, upload in enumerate(files):
        outcome = image_attach(
            order=order, file=upload,
            laterality=lateralities[index] if index < len(lateralities) else "",
            image_context=contexts[index] if index < len(contexts) else ImageContext.PRIMARY,
            actor=request.user)
        results.append({"name": upload.name, "success": outcome.success, "error": outcome.error,
                        "image_id": outcome.image.pk if outcome.image else None, "events": outcome.events})
    audit_record(request=request, action="upload", object_type="order", object_id=order.pk)
    if not files:
        results.append({"name": "", "success": False, "error": "file: choose at least one image", "events": []})
    if request.accepts("application/json") and not request.accepts("text/html"):
        status = 200 if all(r["success"] for r in results) else 400
        return JsonResponse({"results": results}, status=status)
    for result in results:
        if result["success"]:
            messages.success(request, f"{result['name']}: attached")
        else:
            messages.error(request, f"{result['name']}: {result['error']}")
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return redirect(target if target and safe else request.path)


def image_upload_context() -> dict:
    """Choices the upload fragment needs."""
    return {"laterality_choices": list(Laterality.choices), "image_context_choices": list(ImageContext.choices)}
