"""Results writes: generating and storing the results of a grading (SPEC section 6).

Results are generated once per grading and stored immutable (a ResultSet with one
ResultDocument per kind): ResultCode F for a first grading, C for a correction (a later grading
version), R for each ResendResult. Generation is idempotent for F and C (a database constraint
backs it), so a redelivered task does nothing twice.

Hooks: the grading service calls ``results_generate_handler(grading_id)``
(settings.IRIS_RESULTS_GENERATE_HANDLER), the order service ``result_resend_handler(order_id)``
(settings.IRIS_RESULT_RESEND_HANDLER); both enqueue a Celery task after commit. After a result
set is stored, every dotted path in settings.IRIS_RESULTS_GENERATED_HANDLERS is called with its
id (after commit): the delivery issue plugs in there."""
import hashlib
import logging

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from delivery.models import ResultDocument, ResultSet
from grading.models import Grading
from orders.canonical import FieldError, RequestRejected
from orders.models import OrderStatus
from orders.reference import ResultCode

from .context import result_context_build
from .renderers import generated_kinds, renderer_get

logger = logging.getLogger(__name__)

ONCE_PER_GRADING = (ResultCode.FINAL, ResultCode.CORRECTION)


def result_generate(*, grading_id: int, result_code: str | None = None) -> ResultSet | None:
    """Generate and store the results of a grading. ``result_code`` defaults to the grading's
    own (F for version 1, C later); R makes a resend. Returns the (existing or new) result set,
    or None for a superseded grading (its correction's results replace it)."""
    grading = Grading.objects.only("pk", "order_id", "version", "superseded").get(pk=grading_id)
    code = ResultCode(result_code or grading.result_code)
    if code in ONCE_PER_GRADING:
        existing = ResultSet.objects.filter(grading_id=grading_id, result_code=code).first()
        if existing is not None:
            return existing
    if grading.superseded:
        logger.info("grading %s is superseded; no %s results generated", grading_id, code)
        return None
    now = timezone.now()
    context = result_context_build(grading_id=grading_id, result_code=code, timestamp=now)
    documents = {kind: context.artifact(kind) for kind in generated_kinds()}
    order = context.order
    saved: list[ResultDocument] = []
    try:
        with transaction.atomic():
            result_set = ResultSet.objects.create(
                organization_id=order.organization_id, order=order, grading_id=grading_id,
                grading_version=grading.version, result_code=code,
                transaction_id=context.order_result["TransactionId"], timestamp=now,
                order_result=context.order_result, template_source=context.template.source,
            )
            for kind, content in documents.items():
                renderer = renderer_get(kind)
                document = ResultDocument(result_set=result_set, kind=kind, media_type=renderer.media_type,
                                          size=len(content), sha256=hashlib.sha256(content).hexdigest())
                document.file.save(f"{kind}-{order.pk}.{renderer.extension}", ContentFile(content), save=False)
                saved.append(document)
                document.save()
            result_set_id = result_set.pk
            transaction.on_commit(lambda: _generated_notify(result_set_id))
    except IntegrityError:
        _files_discard(saved)
        existing = ResultSet.objects.filter(grading_id=grading_id, result_code=code).first()
        if existing is None:
            raise
        return existing  # a concurrent task stored it first
    except Exception:
        _files_discard(saved)
        raise
    logger.info("results %s of order %s generated (result set %s, %s)", code, order.pk, result_set.pk,
                ", ".join(documents))
    return result_set


def _files_discard(documents: list[ResultDocument]) -> None:
    for document in documents:
        if document.file.name:
            document.file.storage.delete(document.file.name)


def _generated_notify(result_set_id: int) -> None:
    for path in getattr(settings, "IRIS_RESULTS_GENERATED_HANDLERS", []) or []:
        try:
            import_string(path)(result_set_id)
        except Exception:  # noqa: BLE001 - the results are stored; a handler must not undo them
            logger.exception("results-generated handler %s failed for result set %s", path, result_set_id)


def result_resend(*, order_id: int) -> ResultSet:
    """ResendResult: the current grading's results again, with ResultCode R (a new result set)."""
    grading = Grading.objects.filter(order_id=order_id, superseded=False).select_related("order").first()
    if grading is None or grading.order.status != OrderStatus.COMPLETE:
        raise RequestRejected(FieldError("Order.LocalId", "the order has no results to resend"))
    return result_generate(grading_id=grading.pk, result_code=ResultCode.RESEND)


# ---------------------------------------------------------------------------------------------
# Hooks (settings.IRIS_RESULTS_GENERATE_HANDLER / IRIS_RESULT_RESEND_HANDLER)


def results_generate_handler(grading_id: int) -> None:
    """Called by the grading service with each new grading: generate its results in a worker."""
    from delivery.tasks import result_generate_task

    transaction.on_commit(lambda: result_generate_task.delay(grading_id))


def result_resend_handler(order_id: int) -> None:
    """Called by the order service for an accepted ResendResult."""
    from delivery.tasks import result_resend_task

    transaction.on_commit(lambda: result_resend_task.delay(order_id))
