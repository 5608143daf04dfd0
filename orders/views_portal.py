"""The Order Manager: order list (filters, CSV export), order detail (timeline, images, grading),
new order (for a patient, or patient and order in one form), change (XO) and cancel (CA).

Writes go through the one order service as web-channel OrderRequests: these views never write
Order rows. Every view is audited (R14); another organization's order is a 404 (R1)."""
import copy
from functools import lru_cache

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import NoReverseMatch, get_urlconf, reverse
from django.views import View

from iris_portal.audit import audit_record
from iris_portal.optional import optional
from iris_portal.prepared import PreparedQuery
from iris_portal.rendering import render
from iris_portal.views.generic import ObjectActionMixin, ObjectDetailView, ObjectListView, ScopedViewMixin
from patients.forms import PatientForm
from patients.selectors import patient_list

from .exports import order_export_rows
from .filters import OrderFilterSet
from .forms import REQUEST_FIELD_TO_FORM, OrderChangeForm, OrderCreateForm, cancel_request_body
from .models import Image, Order, OrderEvent
from .selectors import order_list, order_visible
from .services.order_request import order_request_process
from .tables import OrderTable


EVENT_LABELS = {
    "OrderCreationReceipt": "Order received", "OrderCancelled": "Order cancelled", "ImageReceipt": "Image received",
    "ReadyForGradingEvent": "Ready for grading", "GradingReceipt": "Grading received", "OrderGradedEvent": "Graded",
    "ResultsDeliveryReceipt": "Results delivered",
}


def orders_visible(*, user):
    """The user's orders with what an order's pages show joined in: the Order Manager (narrowed
    to what its shown columns read), its CSV export, and the change and cancel pages. The order
    page itself reads one order through ``_ORDER_PAGE`` and checks ``order_visible``."""
    return order_list(user=user).select_related(*ORDER_PAGE_RELATIONS)


ORDER_PAGE_RELATIONS = ("patient", "site", "department", "ordering_provider", "primary_care_provider")
_ORDER_PAGE = PreparedQuery(lambda pk: Order.objects.filter(pk=pk).select_related(*ORDER_PAGE_RELATIONS))


class OrderListView(ObjectListView):
    selector = orders_visible
    table = OrderTable
    filterset = OrderFilterSet
    title = "Orders"
    audit_type = "order"
    site_field = "site"
    add_url_name = "orders:add"
    export_filename = "orders"

    def export_rows(self, queryset):
        return order_export_rows(queryset)


class OrderDetailView(ObjectDetailView):
    selector = orders_visible
    template_name = "orders/order_detail.html"
    audit_type = "order"

    def get_object(self):
        """The order by its id (a query compiled once), then ``order_list``'s rule checked on it
        (``order_visible``): another organization's order, or another site's for a user limited
        to some, is a 404 as through the selector."""
        if not self.allowed(self.request.user):
            raise Http404
        found = _ORDER_PAGE(pk=self.kwargs["pk"])
        if not found or not order_visible(found[0], user=self.request.user):
            raise Http404
        return found[0]

    def get_extra_context(self, order) -> dict:
        events = _EVENTS_OF_ORDER(order_id=order.pk)
        for event in events:
            event.warnings = (event.payload or {}).get("Warnings") or []
            event.label = EVENT_LABELS.get(event.event_type, event.event_type)
        user = self.request.user
        # Gradings, results and deliveries all start with a grading, which sets graded_at (and
        # nothing clears it): an order never graded has none, and its page skips three queries.
        graded = order.graded_at is not None
        images = _IMAGES_OF_ORDER(order_id=order.pk)
        for image in images:  # the order given, not a query for it per image
            image.order = order
        return {"events": events, "images": images,
                "grading": _call("grading.selectors.grading_current", order=order) if graded else None,
                "results": _results(user, order, graded),
                "deliveries": _call("delivery.selectors.deliveries_for_order", order=order, user=user, none=not graded),
                "upload": _image_upload_context(order), "image_url_name": _url_name("orders:image-file")}


_EVENTS_OF_ORDER = PreparedQuery(
    lambda order_id: OrderEvent.objects.filter(order_id=order_id).select_related("actor").order_by("timestamp", "pk"))
_IMAGES_OF_ORDER = PreparedQuery(lambda order_id: Image.objects.filter(order_id=order_id))


def _url_name(name: str, *args) -> str:
    """``name`` when that page is installed (another issue's), else "" (fixed for a URLconf:
    worked out once)."""
    return _installed_url_name(name, args, get_urlconf() or settings.ROOT_URLCONF)


@lru_cache(maxsize=64)
def _installed_url_name(name: str, args: tuple, urlconf) -> str:
    try:
        reverse(name, args=args or [1], urlconf=urlconf)
    except NoReverseMatch:
        return ""
    return name


def _call(dotted_path: str, *, none: bool = False, **kwargs):
    """Another issue's selector, when installed (else None: the section is not shown); ``none``:
    known to find nothing, so [] without asking."""
    function = optional(dotted_path)
    if function is None:
        return None
    return [] if none else function(**kwargs)


def _results(user, order, graded: bool = True) -> list | None:
    """The order's result sets with their documents, newest first (the results issue's)."""
    of_order = optional("delivery.results.selectors.result_sets_for_order")
    if of_order is None or not _url_name("delivery:result-document", 1, "pdf"):
        return None
    if not graded:
        return []
    return of_order(order=order, user=user)


def _image_upload_context(order) -> dict | None:
    """The image upload widget (the grading issue's), for open orders, when it is installed."""
    upload_context = optional("orders.views_images.image_upload_context")
    if not order.is_open or upload_context is None or not _url_name("orders:image-upload"):
        return None
    return {"template": "grading/_image_upload.html", **upload_context()}


class OrderRequestViewMixin(ScopedViewMixin):
    """Submitting a web OrderRequest and turning a rejection into form errors."""

    def submit(self, body: dict, forms: dict):
        outcome = web_order_request(self.request, body)
        if not outcome.success:
            attach_rejection(outcome.error, forms)
        return outcome


def web_order_request(request, body: dict):
    """THE order service, as the web channel: the signed-in user's organization and name."""
    return order_request_process(body=body, channel="web", sender=request.user.username,
                                 organization=request.user.organization, actor=request.user)


def attach_rejection(error: str, forms: dict) -> None:
    """Put each "Field.Path: reason" of a rejection on the form field it concerns."""
    fallback = forms["order"]
    for part in filter(None, (item.strip() for item in error.split("; "))):
        path, _, reason = part.partition(": ")
        target = REQUEST_FIELD_TO_FORM.get(path)
        form = forms.get(target[0]) if target else None
        if form is not None and target[1] in form.fields:
            form.add_error(target[1], reason or part)
        else:
            fallback.add_error(None, part)


class OrderCreateView(OrderRequestViewMixin, View):
    """New order for a patient (``?patient=<id>``), or a new patient and their order in one form."""

    title = "New order"

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        self.check_page_allowed()
        wanted = request.POST.get("patient") or request.GET.get("patient")
        self.patient = None
        if wanted:
            if not str(wanted).isdigit():
                raise Http404
            self.patient = get_object_or_404(patient_list(user=request.user), pk=wanted)
        return super().dispatch(request, *args, **kwargs)

    def forms(self, data=None) -> dict:
        user = self.request.user
        forms = {"order": OrderCreateForm(data, user=user, patient=self.patient, prefix="order")}
        if self.patient is None:
            forms["patient"] = PatientForm(data, user=user, prefix="patient")
        return forms

    def get(self, request, *args, **kwargs):
        if self.patient is not None:
            self.audit("view", self.patient.pk)
        return self.render(self.forms())

    def post(self, request, *args, **kwargs):
        forms = self.forms(request.POST)
        if all([form.is_valid() for form in forms.values()]):
            body = forms["order"].request_body(organization=request.user.organization, patient=self.patient,
                                               patient_form=forms.get("patient"), user_name=request.user.username)
            outcome = self.submit(body, forms)
            if outcome.success:
                audit_record(request=request, action="create", object_type="order", object_id=outcome.order.pk)
                _report_warnings(request, outcome)
                messages.success(request, f"Order {outcome.order.local_id} created.")
                return HttpResponseRedirect(reverse("orders:detail", args=[outcome.order.pk]))
        return self.render(forms)

    def render(self, forms: dict):
        return render(self.request, "orders/order_form.html", {
            "forms": forms, "patient": self.patient, "title": self.title,
            "cancel_url": reverse("patients:detail", args=[self.patient.pk]) if self.patient else reverse("orders:list"),
        })


class OrderChangeView(OrderRequestViewMixin, ObjectActionMixin, View):
    """Change an open order (XO): the form is prefilled; the order service applies R8."""

    selector = orders_visible
    audit_type = "order"

    def refuse(self, order):
        if order.is_open:
            return None
        messages.error(self.request, f"Order {order.local_id} is {order.get_status_display().lower()}; "
                                     "it can no longer be changed.")
        return HttpResponseRedirect(reverse("orders:detail", args=[order.pk]))

    def get(self, request, *args, **kwargs):
        self.audit("view", self.object.pk)
        return self.render(OrderChangeForm(order=self.object))

    def post(self, request, *args, **kwargs):
        order = self.object
        form = OrderChangeForm(request.POST, order=copy.copy(order))
        if form.is_valid():
            outcome = self.submit(form.request_body(user_name=request.user.username), {"order": form})
            if outcome.success:
                self.audit("change", order.pk)
                _report_warnings(request, outcome)
                messages.success(request, f"Order {order.local_id} changed.")
                return HttpResponseRedirect(reverse("orders:detail", args=[order.pk]))
        return self.render(form)

    def render(self, form):
        return render(self.request, "orders/order_change.html", {
            "form": form, "order": self.object, "title": f"Change order {self.object.local_id}",
            "cancel_url": reverse("orders:detail", args=[self.object.pk])})


class OrderCancelView(OrderRequestViewMixin, ObjectActionMixin, View):
    """Cancel an open order (CA), after a confirmation page."""

    selector = orders_visible
    audit_type = "order"

    def get(self, request, *args, **kwargs):
        self.audit("view", self.object.pk)
        return render(request, "orders/order_cancel.html", {"order": self.object})

    def post(self, request, *args, **kwargs):
        order = self.object
        outcome = web_order_request(request, cancel_request_body(order, user_name=request.user.username))
        if outcome.success:
            self.audit("change", order.pk)
            messages.success(request, f"Order {order.local_id} cancelled.")
        else:
            messages.error(request, f"The order was not cancelled: {outcome.error}")
        return HttpResponseRedirect(reverse("orders:detail", args=[order.pk]))


def _report_warnings(request, outcome) -> None:
    for event in outcome.events:
        for warning in event.get("Warnings") or []:
            messages.warning(request, warning)
