"""One result being rendered: the OrderResult, the records it was built from, the report's
template and settings. Renderers take a ResultContext; ``artifact(kind)`` renders another kind
once and keeps it (the CDA document and the JSON embed the PDF, an ORU may too)."""
import datetime as dt
import uuid
from functools import cached_property

from django.utils import timezone

from grading.models import Grading
from orders.models import Order

from .builder import grading_for_results, order_for_results, order_result_build
from .images import best_image, image_media_type
from .report import EffectiveReportSettings, report_settings_resolve
from .report_data import Picture, ReportData
from .templates import ResolvedTemplate, report_template_resolve


class ResultContext:
    def __init__(self, *, order_result: dict, order: Order | None = None, grading: Grading | None = None,
                 report: ReportData | None = None, template: ResolvedTemplate | None = None):
        self.order_result = order_result
        self.order = order
        self.grading = grading
        self.embed_document = True  # the JSON renderer embeds the PDF in ResultsDocument
        self._artifacts: dict[str, bytes] = {}
        if report is not None:
            self.__dict__["report"] = report
        if template is not None:
            self.__dict__["template"] = template

    @property
    def result_code(self) -> str:
        return self.order_result["ResultCode"]

    @cached_property
    def report_settings(self) -> EffectiveReportSettings:
        return report_settings_resolve(organization=self.order.organization, site=self.order.site)

    @cached_property
    def template(self) -> ResolvedTemplate:
        return report_template_resolve(organization=self.order.organization, site=self.order.site,
                                       evaluation_type=self.report.primary_evaluation_type)

    @cached_property
    def report(self) -> ReportData:
        order, grading, settings = self.order, self.grading, self.report_settings
        images = list(order.images.all())
        pictures = {}
        for side in ("OD", "OS"):
            image = best_image(images, side)
            pictures[side] = Picture(image_media_type(image), storage_name=image.file.name) if image else None
        site = order.site
        address = ", ".join(part for part in (site.street1, site.street2, site.city,
                                              " ".join(p for p in (site.state, site.postal_code) if p)) if part)
        provider = grading.grader.provider if grading is not None else None
        return ReportData(order_result=self.order_result, pictures=pictures, logo=settings.logo,
                          disclaimer=settings.disclaimer, paper_size=settings.paper_size,
                          signature_line=provider.signature if provider else "",
                          organization_name=order.organization.name, site_address=address)

    def report_link_url(self) -> str:
        """Signed link to this result's PDF (valid once the result set is stored)."""
        from .links import report_link_url

        return report_link_url(transaction_id=self.order_result["TransactionId"])

    def artifact(self, kind: str) -> bytes:
        """The rendered bytes of ``kind`` (rendered at most once per context)."""
        from .renderers import renderer_get

        if kind not in self._artifacts:
            self._artifacts[kind] = renderer_get(kind).render(self)
        return self._artifacts[kind]


def result_context_build(*, grading_id: int, result_code: str, transaction_id: uuid.UUID | None = None,
                         timestamp: dt.datetime | None = None) -> ResultContext:
    """The context of a grading's result: builds the OrderResult (without document)."""
    grading = grading_for_results(grading_id)
    order = order_for_results(grading.order_id)
    order_result = order_result_build(order=order, grading=grading, result_code=result_code,
                                      transaction_id=transaction_id or uuid.uuid4(),
                                      timestamp=timestamp or timezone.now())
    return ResultContext(order_result=order_result, order=order, grading=grading)


def result_context_stored(result_set) -> ResultContext:
    """The context of a stored result set: its documents as generated, and any kind it lacks
    rendered from the same OrderResult (embedding the stored PDF, not a new one)."""
    grading = grading_for_results(result_set.grading_id)
    order = order_for_results(result_set.order_id)
    context = ResultContext(order_result=result_set.order_result, order=order, grading=grading)
    for document in result_set.documents.all():
        with document.file.open("rb") as handle:
            context._artifacts[document.kind] = handle.read()
    return context
