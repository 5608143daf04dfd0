"""Reading reports: "My reports" for PCPs, downloads of stored result documents, and signed
report links that work without login. Every list, view and download is audited (R14); another
organization's (or another PCP's) report is a 404 (R1)."""
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from iris_portal.audit import audit_record

from .models import ResultDocument
from .results.links import ReportLinkExpired, ReportLinkInvalid, report_link_resolve
from .results.selectors import pcp_reports, pcp_result_sets, result_sets_visible


def _serve(document: ResultDocument, *, download: bool = False) -> FileResponse:
    result_set = document.result_set
    name = f"report-{result_set.order_id}-{result_set.result_code}.{document.file.name.rsplit('.', 1)[-1]}"
    response = FileResponse(document.file.open("rb"), content_type=document.media_type, as_attachment=download,
                            filename=name)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if document.kind == "html":  # a customer's template is validated, but keep it inert anyway
        response["Content-Security-Policy"] = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"
    return response


@login_required
@require_GET
def my_reports(request):
    if not (request.user.is_pcp and request.user.provider_id):
        raise Http404("Not a PCP")
    reports = list(pcp_reports(user=request.user)[:500])
    audit_record(request=request, action="list", object_type="report")
    return render(request, "delivery/my_reports.html", {"reports": reports})


@login_required
@require_GET
def my_report_pdf(request, pk: int):
    result_set = get_object_or_404(pcp_result_sets(user=request.user), pk=pk)
    document = get_object_or_404(ResultDocument, result_set=result_set, kind="pdf")
    audit_record(request=request, action="download", object_type="result_document", object_id=document.pk)
    return _serve(document)


@login_required
@require_GET
def result_document(request, pk: int, kind: str):
    """A stored document of a result the user may see (their organization's, or as PCP)."""
    result_set = get_object_or_404(result_sets_visible(user=request.user), pk=pk)
    document = get_object_or_404(ResultDocument, result_set=result_set, kind=kind)
    audit_record(request=request, action="download", object_type="result_document", object_id=document.pk)
    return _serve(document, download=kind not in ("pdf", "html"))


@require_GET
def report_link(request, token: str):
    """A signed link to one report's PDF: no login; tampered -> 404, expired -> a page saying so."""
    try:
        result_set = report_link_resolve(token)
    except ReportLinkExpired:
        audit_record(request=request, action="view", object_type="report_link_expired")
        return render(request, "delivery/report_link_expired.html", status=410)
    except ReportLinkInvalid:
        raise Http404("No such report") from None
    document = get_object_or_404(ResultDocument, result_set=result_set, kind="pdf")
    audit_record(request=request, action="download", object_type="result_document", object_id=document.pk)
    return _serve(document)
