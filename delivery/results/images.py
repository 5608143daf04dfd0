"""Which image of each eye goes on the report (IRIS integration/Results/Images.md).

The standard report shows one image per eye. Without a grader's or an operator's explicit pick,
IRIS uses the last image taken, assuming the operator stopped once a good one was captured; we
do the same among the original (primary-like) images of that eye, and fall back to any other
renderable image of the eye."""
import mimetypes
from collections.abc import Iterable

from orders.models import Image
from orders.reference import ImageContext, Laterality

ORIGINAL_CONTEXTS = frozenset({ImageContext.PRIMARY, ImageContext.SECONDARY, ImageContext.UNKNOWN,
                               ImageContext.ADDED_LATE})
ENHANCED_CONTEXTS = frozenset({ImageContext.ENHANCEMENT})
# What WeasyPrint (through Pillow) and every browser can show; DICOM and the like are skipped.
RENDERABLE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})


def image_media_type(image: Image) -> str:
    guessed = (image.content_type or "").split(";")[0].strip().lower()
    if guessed not in RENDERABLE_TYPES:
        guessed = (mimetypes.guess_type(image.file.name or "")[0] or "").lower()
    return guessed


def shows_eye(image: Image, side: str) -> bool:
    return image.laterality == side or image.laterality == Laterality.OU


def best_image(images: Iterable[Image], side: str) -> Image | None:
    """The image of eye ``side`` (OD/OS) for the report: the last taken original image, else the
    last taken other image of that eye; None when the eye has no renderable image."""
    candidates = [img for img in images if shows_eye(img, side) and image_media_type(img) in RENDERABLE_TYPES]
    if not candidates:
        return None

    def rank(img: Image):
        taken = img.taken_at or img.received_at
        return (img.image_context in ORIGINAL_CONTEXTS, taken.timestamp() if taken else 0, img.pk or 0)

    return max(candidates, key=rank)
