"""CSV/XLSX import pages (SPEC 4.2): upload with a live progress bar, import history, the error
report, and the column-mapping editor. Integration administrators of the organization only:
others get 403 on the pages, and 404 on an import (as for another organization's import, R1:
an import's existence is not disclosed). Every page is audited (R14); the progress fragment
polled while an import runs shows only counts, so only its final rendering (with the row
errors) is audited."""
from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from iris_portal.audit import audit_record
from organizations.views_clouddirect import integration_admin_required

from .forms_imports import ImportUploadForm, MappingForm, MappingSampleForm
from .intake.csv.dropfolder import dropfolder_root
from .intake.csv.editor import mapping_preview, mapping_sample_store, mapping_sample_table, mapping_save
from .intake.csv.fields import normalize_header
from .intake.csv.job import import_job_create, import_job_enqueue
from .intake.csv.mapping import plan_build
from .intake.csv.reader import FileRefused
from .intake.csv.report import error_report_lines, error_report_name
from .intake.csv.selectors import import_job_list, import_mapping_get
from .models import ImportSource

HISTORY_PAGE = 25
ERRORS_SHOWN = 200


def _import_view(view):
    """An import's own pages: anyone but its organization's integration administrators gets 404."""
    guarded = integration_admin_required(view)

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return guarded(request, *args, **kwargs)
        except PermissionDenied:
            raise Http404 from None
    return wrapper


@integration_admin_required
@require_http_methods(["GET", "POST"])
def imports(request):
    """Upload a file (it is kept and imported in the background) and the import history."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        job = import_job_create(organization=request.user.organization, content=upload, name=upload.name,
                                source=ImportSource.PORTAL, created_by=request.user)
        import_job_enqueue(job)
        audit_record(request=request, action="create", object_type="import_job", object_id=job.pk)
        return redirect("orders:import-detail", pk=job.pk)
    page = Paginator(import_job_list(user=request.user), HISTORY_PAGE).get_page(request.GET.get("page"))
    audit_record(request=request, action="list", object_type="import_job")
    return render(request, "orders/imports/list.html", {
        "form": form, "page": page, "dropfolder": dropfolder_root(request.user.organization),
    })


@_import_view
@require_GET
def import_detail(request, pk: int):
    job = get_object_or_404(import_job_list(user=request.user), pk=pk)
    audit_record(request=request, action="view", object_type="import_job", object_id=job.pk)
    return render(request, "orders/imports/detail.html", _progress_context(job))


@_import_view
@require_GET
def import_progress(request, pk: int):
    """The progress fragment htmx polls; once the import has finished it carries the summary
    and stops polling (no ``hx-trigger`` in the finished fragment)."""
    job = get_object_or_404(import_job_list(user=request.user), pk=pk)
    if job.is_finished:
        audit_record(request=request, action="view", object_type="import_job", object_id=job.pk)
    return render(request, "orders/imports/_progress.html", _progress_context(job))


@_import_view
@require_GET
def import_errors_csv(request, pk: int):
    """The error report: each rejected row as it was in the file, plus row, column(s), reason(s)."""
    job = get_object_or_404(import_job_list(user=request.user), pk=pk)
    audit_record(request=request, action="download", object_type="import_job_errors", object_id=job.pk)
    lines = error_report_lines(job)
    response = StreamingHttpResponse(_with_bom(lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{error_report_name(job)}"'
    return response


@integration_admin_required
@require_http_methods(["GET", "POST"])
def import_mapping(request):
    """The column mapping, edited from a sample file: pick a field for each column, preview."""
    organization = request.user.organization
    mapping = import_mapping_get(organization=organization)
    sample_form = MappingSampleForm()
    if request.method == "POST" and "sample" in request.POST:
        sample_form = MappingSampleForm(request.POST, request.FILES)
        if sample_form.is_valid():
            mapping_sample_store(mapping=mapping, upload=sample_form.cleaned_data["file"], user=request.user)
            audit_record(request=request, action="change", object_type="import_mapping", object_id=organization.pk)
            messages.success(request, "Sample file read: choose a field for each of its columns.")
            return redirect("orders:import-mapping")
    table, refused = _sample_table(mapping)
    form = _mapping_form(request, mapping, table) if table else None
    if request.method == "POST" and "save" in request.POST and form is not None and form.is_valid():
        mapping_save(mapping=mapping, header=table.header, choices=form.column_choices(), defaults=form.defaults(),
                     user=request.user)
        audit_record(request=request, action="change", object_type="import_mapping", object_id=organization.pk)
        messages.success(request, "Column mapping saved. New imports use it.")
        return redirect("orders:import-mapping")
    audit_record(request=request, action="view", object_type="import_mapping", object_id=organization.pk)
    preview = _preview(mapping, table, form) if form is not None else None
    return render(request, "orders/imports/mapping.html", {
        "mapping": mapping, "sample_form": sample_form, "form": form, "preview": preview, "refused": refused,
    })


@integration_admin_required
@require_POST
def import_mapping_preview(request):
    """htmx: the preview for the choices currently in the form, without saving them."""
    mapping = import_mapping_get(organization=request.user.organization)
    table, refused = _sample_table(mapping)
    form = _mapping_form(request, mapping, table) if table else None
    preview = _preview(mapping, table, form) if form is not None else None
    audit_record(request=request, action="view", object_type="import_mapping_preview",
                 object_id=request.user.organization_id)
    return render(request, "orders/imports/_mapping_preview.html", {"preview": preview, "refused": refused})


# ---------------------------------------------------------------------------------------------


def _progress_context(job) -> dict:
    errors = job.row_errors.all()[:ERRORS_SHOWN] if job.is_finished else []
    return {"job": job, "errors": errors, "errors_shown": ERRORS_SHOWN}


def _with_bom(lines):
    yield "\ufeff"
    yield from lines


def _sample_table(mapping):
    try:
        return mapping_sample_table(mapping), ""
    except (FileRefused, OSError) as exc:
        return None, str(exc)


def _mapping_form(request, mapping, table) -> MappingForm:
    columns = mapping.columns or {}
    try:
        plan = plan_build(table.header, client_guid=str(mapping.organization.client_guid), columns=columns)
        resolved = {column.index: column.target for column in plan.columns}
    except FileRefused:
        resolved = {}
    initial_targets = [resolved.get(index, "") for index in range(len(table.header))]
    defaults = mapping.defaults or {}
    initial = {"default_evaluation_types": [code for code in defaults.get("Order.EvaluationTypes", "").split(",") if code],
               "default_site": defaults.get("Site.LocalId", "")}
    data = request.POST if request.method == "POST" and "sample" not in request.POST else None
    return MappingForm(data, header=table.header, initial_targets=initial_targets,
                       organization=mapping.organization, initial=initial)


def _preview(mapping, table, form):
    if form.is_bound and form.is_valid():
        choices, defaults = form.column_choices(), form.defaults()
    else:
        choices = [form[f"col_{index}"].initial or "" for index in range(len(table.header))]
        defaults = mapping.defaults or {}
    columns = {normalize_header(text): target for text, target in zip(table.header, choices)}
    return mapping_preview(mapping=mapping, table=table, columns=columns, defaults=defaults)

