"""Generic object views driven by class attributes (NetBox's pattern, small).

Every view fetches through ``selector(user=...)``, a function that returns only what the user may
see, so a forgotten scope is hard to write: there is no ``model`` attribute to fall back on.
Objects outside the selector are 404 (R1); pages a role may not use at all are 403. Views of
patients and orders are written to the audit log (R14) through ``audit_type``."""
import copy
import csv
from typing import Callable

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import ProtectedError, QuerySet
from django.http import Http404, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django_tables2 import RequestConfig

from ..audit import audit_record
from ..compile_cache import compiled_once
from ..permissions import can_see_organization_data
from ..rendering import render
from ..site_switcher import current_site
from ..tables import CappedPaginator


class ScopedViewMixin(LoginRequiredMixin):
    selector: Callable[..., QuerySet] | None = None  # selector(user=...) -> what the user may see
    allowed: Callable = staticmethod(can_see_organization_data)  # role predicate for the page
    audit_type: str = ""  # AuditEvent.object_type; empty: not audited
    title: str = ""

    def get_queryset(self) -> QuerySet:
        if self.selector is None:
            raise NotImplementedError(f"{type(self).__name__} needs a selector")
        return type(self).selector(user=self.request.user)

    def get_object(self):
        if not self.allowed(self.request.user):
            raise Http404
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])

    def check_page_allowed(self) -> None:
        if not self.allowed(self.request.user):
            raise PermissionDenied

    def audit(self, action: str, object_id="") -> None:
        if self.audit_type:
            audit_record(request=self.request, action=action, object_type=self.audit_type, object_id=object_id)


class ObjectListView(ScopedViewMixin, View):
    """A filtered, sortable, paginated table; ``?export=csv`` streams the filtered set."""

    table = None  # a PortalTable
    filterset = None  # a PortalFilterSet
    template_name = "portal/object_list.html"
    per_page = 25
    site_field: str | None = None  # field filtered by the site switcher
    add_url_name: str = ""
    export_filename: str = ""  # enables CSV export when set together with export_rows()

    def filter_by_current_site(self, queryset: QuerySet) -> QuerySet:
        site = current_site(self.request)
        if site and self.site_field:
            return queryset.filter(**{self.site_field: site})
        return queryset

    def get(self, request, *args, **kwargs):
        self.check_page_allowed()
        queryset = self.filter_by_current_site(self.get_queryset())
        filterset = (self.filterset(self.filterset.data_from(request.GET), queryset=queryset, request=request)
                     if self.filterset else None)
        if filterset is not None:
            queryset = filterset.qs if filterset.is_bound and filterset.is_valid() else queryset
        if self.export_filename and request.GET.get("export") == "csv":
            self.audit("download")
            return self.export(queryset)
        table = self.table(compiled_once(queryset))  # not request=: that would paginate once more, with a full COUNT
        table.apply_column_choice(request.session)
        table.fetch_only_shown_fields()
        RequestConfig(request, paginate={"per_page": self.per_page, "paginator_class": CappedPaginator}).configure(table)
        self.audit("list")
        return render(request, self.template_name, {
            "title": self.title, "table": table, "filterset": filterset,
            "add_url": reverse(self.add_url_name) if self.add_url_name else "",
            "export_url": self.export_url(), **self.get_extra_context(),
        })

    def get_extra_context(self) -> dict:
        return {}

    def export_url(self) -> str:
        if not self.export_filename:
            return ""
        query = self.request.GET.copy()
        query["export"] = "csv"
        query.pop("page", None)
        return f"?{query.urlencode()}"

    def export_rows(self, queryset: QuerySet):
        """Header row, then one row per object."""
        raise NotImplementedError

    def export(self, queryset: QuerySet) -> StreamingHttpResponse:
        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())
        response = StreamingHttpResponse((writer.writerow(row) for row in self.export_rows(queryset)),
                                         content_type="text/csv; charset=utf-8")
        stamp = timezone.localtime().strftime("%Y%m%d_%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="{self.export_filename}-{stamp}.csv"'
        response["Cache-Control"] = "no-store"
        return response


class ObjectDetailView(ScopedViewMixin, View):
    template_name = ""

    def get(self, request, *args, **kwargs):
        obj = self.get_object()
        self.audit("view", obj.pk)
        return render(request, self.template_name, {"object": obj, "title": str(obj), **self.get_extra_context(obj)})

    def get_extra_context(self, obj) -> dict:
        return {}


class ObjectActionMixin(ScopedViewMixin):
    """Views about one object: ``self.object`` is fetched (scoped: 404 outside) before any
    handler runs, for signed-in users (anonymous ones are sent to sign in)."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.object = self.get_object()
            refusal = self.refuse(self.object)
            if refusal is not None:
                return refusal
        return super().dispatch(request, *args, **kwargs)

    def refuse(self, obj):
        """A response when this action does not apply to ``obj`` (e.g. a closed order), else None."""
        return None


class ObjectEditView(ScopedViewMixin, View):
    """Create (no ``pk`` in the URL) or edit. The form gets ``user`` so its choices are scoped
    too; ``save_form`` is the hook where a view calls its service. After saving: the object's
    page (``success_url_name``) or else the list (``cancel_url_name``)."""

    form_class = None
    template_name = "portal/object_edit.html"
    noun = ""  # "site" -> "Add a site" / "Edit site North Clinic"
    success_url_name = ""  # reversed with the saved object's pk
    cancel_url_name = ""
    delete_url_name = ""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            self.object = self.get_object() if "pk" in kwargs else None
            if self.object is None:
                self.check_page_allowed()
        return super().dispatch(request, *args, **kwargs)

    def get_form(self, data=None, files=None):
        # The form works on a copy: a service may compare the stored values with the new ones.
        instance = copy.copy(self.object) if self.object is not None else None
        return self.form_class(data=data, files=files, instance=instance, user=self.request.user)

    def get(self, request, *args, **kwargs):
        if self.object is not None:
            self.audit("view", self.object.pk)
        return self.render_form(self.get_form())

    def post(self, request, *args, **kwargs):
        form = self.get_form(request.POST, request.FILES)
        if form.is_valid():
            creating = self.object is None
            obj = self.save_form(form)
            if obj is not None:
                self.audit("create" if creating else "change", obj.pk)
                messages.success(request, f"{'Created' if creating else 'Saved'} {obj}.")
                return HttpResponseRedirect(self.get_success_url(obj))
        return self.render_form(form)

    def save_form(self, form):
        """Save and return the object, or add errors to the form and return None."""
        return form.save()

    def get_success_url(self, obj) -> str:
        if self.success_url_name:
            return reverse(self.success_url_name, kwargs={"pk": obj.pk})
        return reverse(self.cancel_url_name)

    def get_title(self) -> str:
        if self.object is not None:
            return f"Edit {self.noun} {self.object}".replace("  ", " ")
        return f"Add {'an' if self.noun[:1] in 'aeiou' else 'a'} {self.noun}"

    def render_form(self, form):
        cancel = ""
        if self.object is not None and self.success_url_name:
            cancel = reverse(self.success_url_name, kwargs={"pk": self.object.pk})
        elif self.cancel_url_name:
            cancel = reverse(self.cancel_url_name)
        delete = reverse(self.delete_url_name, args=[self.object.pk]) if self.object and self.delete_url_name else ""
        return render(self.request, self.template_name, {
            "form": form, "object": self.object, "title": self.get_title(), "cancel_url": cancel,
            "delete_url": delete})


class ObjectDeleteView(ObjectActionMixin, View):
    template_name = "portal/object_delete.html"
    success_url_name = ""

    def get(self, request, *args, **kwargs):
        return render(request, self.template_name, {"object": self.object, "title": f"Delete {self.object}",
                                                    "cancel_url": reverse(self.success_url_name)})

    def post(self, request, *args, **kwargs):
        obj = self.object
        label, pk = str(obj), obj.pk
        try:
            self.delete_object(obj)
        except ProtectedError:
            messages.error(request, f"{label} is still in use and cannot be deleted.")
        else:
            self.audit("delete", pk)
            messages.success(request, f"Deleted {label}.")
        return HttpResponseRedirect(reverse(self.success_url_name))

    def delete_object(self, obj) -> None:
        obj.delete()
