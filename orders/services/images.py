"""Images attached to orders and the image requirement (R10)."""
import posixpath

from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from ..canonical import EventType
from ..models import Image, Order, OrderStatus
from ..reference import ImageContext, Laterality
from .events import order_event


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
