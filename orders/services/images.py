"""Images attached to orders and the image requirement (R10)."""
import logging
import posixpath
import uuid
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from PIL import Image as PILImage
from PIL import UnidentifiedImageError

from ..canonical import EventType, FieldError, RequestRejected
from ..models import Image, Order, OrderStatus
from ..reference import ImageContext, Laterality
from .events import events_record, order_event

logger = logging.getLogger(__name__)


def image_requirement_met(order: Order, images: list[Image] | None = None) -> bool:
    """R10: a primary image for each eye, or for one eye when single-eye-only is set or a
    missing-eye reason is given."""
    images = list(order.images.all()) if images is None else images
    eyes = set()
    for image in images:
        if image.image_context != ImageContext.PRIMARY:
            continue
        if image.laterality == Laterality.OU:
            eyes.update({Laterality.OD, Laterality.OS})
        else:
            eyes.add(image.laterality)
    if order.single_eye_only or order.missing_eye_reason:
        return bool(eyes)
    return {Laterality.OD, Laterality.OS} <= eyes


def order_mark_ready_if_complete(order: Order, events: list) -> None:
    """Move an order awaiting images to ready_for_grading once R10 holds (emits the event)."""
    if order.status == OrderStatus.AWAITING_IMAGES and image_requirement_met(order):
        order.status = OrderStatus.READY_FOR_GRADING
        order.serviced_at = order.serviced_at or timezone.now()
        order.save(update_fields=["status", "serviced_at", "updated_at"])
        events.append(order_event(EventType.READY_FOR_GRADING, order))


def blob_path(container: str, file_name: str) -> str | None:
    """Storage name of an image-first blob, or None when the reference would leave its folder."""
    joined = posixpath.normpath(posixpath.join(settings.IRIS_BLOB_PREFIX, container, file_name))
    if joined.startswith("..") or not joined.startswith(settings.IRIS_BLOB_PREFIX.rstrip("/") + "/"):
        return None
    return joined


def images_from_references(order: Order, references, events: list, *, field_prefix: str = "Camera.Images") -> None:
    """Attach referenced image-first blobs. A missing blob gives a failed ImageReceipt naming the
    file; the order itself stands and keeps waiting for images."""
    known = set(order.images.exclude(local_id="").values_list("local_id", flat=True))
    for index, ref in enumerate(references):
        field = f"{field_prefix}[{index}]"
        if ref.local_id and ref.local_id in known:
            continue  # replay of an image we already have
        blob = ref.azure_blob_storage
        if blob is None or not (blob.container and blob.file_name):
            events.append(order_event(EventType.IMAGE_RECEIPT, order, success=False,
                                      error=f"{field}.AzureBlobStorage: required (Container and FileName)",
                                      image_local_id=ref.local_id))
            continue
        name = blob_path(blob.container, blob.file_name)
        if name is None or not default_storage.exists(name):
            events.append(order_event(EventType.IMAGE_RECEIPT, order, success=False,
                                      error=f"{field}.AzureBlobStorage: file '{blob.container}/{blob.file_name}' not found",
                                      image_local_id=ref.local_id))
            continue
        context = ref.image_context or ImageContext.PRIMARY
        if order.status == OrderStatus.COMPLETE:
            context = ImageContext.ADDED_LATE
        image = Image(order=order, laterality=ref.laterality or Laterality.OS, image_context=context,
                      local_id=ref.local_id or "", parent_local_id=ref.parent_local_id or "",
                      group_id=ref.group_id, group_ordinal=ref.group_ordinal, taken_at=ref.taken,
                      device=order.device)
        image.file.name = name
        image.save()
        warnings = [] if ref.laterality else [f"{field}.Laterality: missing, taken as OS"]
        events.append(order_event(EventType.IMAGE_RECEIPT, order, image_local_id=image.local_id or None,
                                  iris_image_id=image.pk, warnings=warnings))
    order_mark_ready_if_complete(order, events)


# ---------------------------------------------------------------------------------------------
# Attaching an uploaded file (web upload, ``manage.py attach_image``)

IMAGE_FORMATS = {"JPEG": ("jpg", "image/jpeg"), "PNG": ("png", "image/png")}


@dataclass
class ImageAttachOutcome:
    success: bool
    events: list[dict] = field(default_factory=list)
    image: Image | None = None
    error: str = ""


def image_format_check(file) -> str:
    """The file's format (JPEG or PNG) judged by its content, never by its name. Raises
    RequestRejected naming the field ``file``."""
    size = getattr(file, "size", None)
    if size is None:
        file.seek(0, 2)
        size = file.tell()
    if not size:
        raise RequestRejected(FieldError("file", "the file is empty"))
    if size > settings.IRIS_IMAGE_MAX_BYTES:
        raise RequestRejected(FieldError("file", f"{size} bytes is more than the limit of {settings.IRIS_IMAGE_MAX_BYTES}"))
    file.seek(0)
    try:
        with PILImage.open(file) as picture:
            kind = picture.format
            picture.verify()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, PILImage.DecompressionBombError):
        raise RequestRejected(FieldError("file", "not a readable JPEG or PNG image")) from None
    finally:
        file.seek(0)
    if kind not in IMAGE_FORMATS:
        raise RequestRejected(FieldError("file", f"{kind} images are not accepted (JPEG or PNG only)"))
    return kind


def image_attach(*, order: Order, file, laterality: str, image_context: str = ImageContext.PRIMARY,
                 local_id: str | None = None, actor=None, taken_at=None) -> ImageAttachOutcome:
    """Validate and store one image, emit ImageReceipt (and ReadyForGradingEvent once R10 holds).
    Images arriving after grading get the context AddedLate. A rejection is recorded as a failed
    ImageReceipt naming the field and leaves nothing stored."""
    events: list = []
    image = None
    with transaction.atomic():
        order = Order.objects.select_for_update(of=("self",)).select_related("patient").get(pk=order.pk)
        try:
            image = _image_store(order, file, laterality, image_context, local_id, taken_at)
        except RequestRejected as exc:
            events.append(order_event(EventType.IMAGE_RECEIPT, order, success=False, error=exc.message,
                                      image_local_id=local_id or None))
        else:
            events.append(order_event(EventType.IMAGE_RECEIPT, order, image_local_id=image.local_id or None,
                                      iris_image_id=image.pk))
            order_mark_ready_if_complete(order, events)
        events_record(organization=order.organization, events=events, actor=actor)
    payloads = [payload for _, payload in events]
    if image is None:
        return ImageAttachOutcome(success=False, events=payloads, error=payloads[0]["ErrorMessage"])
    logger.info("order %s: image %s attached", order.pk, image.pk)
    return ImageAttachOutcome(success=True, events=payloads, image=image)


def _image_store(order: Order, file, laterality, image_context, local_id, taken_at) -> Image:
    if order.status == OrderStatus.CANCELLED:
        raise RequestRejected(FieldError("order", f"order '{order.local_id}' is cancelled"))
    laterality = (laterality or "").strip().upper()
    if laterality not in Laterality.values:
        raise RequestRejected(FieldError("laterality", f"'{laterality}' is not one of OD, OS, OU"))
    context = next((c for c in ImageContext.values if c.lower() == (image_context or "Primary").strip().lower()), None)
    if context is None:
        raise RequestRejected(FieldError("image_context", f"'{image_context}' is not one of {', '.join(ImageContext.values)}"))
    if local_id and order.images.filter(local_id=local_id).exists():
        raise RequestRejected(FieldError("local_id", f"the order already has an image '{local_id}'"))
    kind = image_format_check(file)
    if order.status == OrderStatus.COMPLETE:
        context = ImageContext.ADDED_LATE
    extension, content_type = IMAGE_FORMATS[kind]
    image = Image(order=order, laterality=laterality, image_context=context, local_id=local_id or "",
                  content_type=content_type, device=order.device, taken_at=taken_at)
    image.file.save(f"{uuid.uuid4().hex}.{extension}", File(file), save=False)
    try:
        image.save()
    except Exception:
        image.file.delete(save=False)  # no orphan file when the row cannot be written
        raise
    return image
