"""Telling an organization's emergency contacts about an emergent result (Careplans.md).

The email carries a link to the order and nothing else (R13: no PHI in email)."""
import logging

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from .models import Grading

logger = logging.getLogger(__name__)


def emergency_contacts(organization) -> list[str]:
    return [line.strip() for line in (organization.emergency_contacts or "").replace(",", "\n").splitlines() if line.strip()]


def order_link(order) -> str:
    """Absolute link to the order page (the portal's order detail at /orders/<id>/)."""
    return f"{settings.IRIS_PORTAL_URL}/orders/{order.pk}/"


def emergency_contacts_notify(*, grading_id: int) -> bool:
    """Send the emergent-result email once per grading; True when sent now. Raises on SMTP
    errors so the task retries; the grading row remembers success."""
    with transaction.atomic():
        grading = (Grading.objects.select_for_update(of=("self",)).select_related("order__organization")
                   .get(pk=grading_id))
        if not grading.emergent or grading.emergency_notified_at is not None:
            return False
        organization = grading.order.organization
        recipients = emergency_contacts(organization)
        if not recipients:
            logger.warning("emergent grading %s: organization %s has no emergency contacts", grading.pk, organization.pk)
            return False
        body = (
            f"An emergent result has been graded for {organization.name}.\n\n"
            "The care plan calls for immediate action. Sign in to the portal to see the order:\n"
            f"{order_link(grading.order)}\n\n"
            "This message deliberately contains no patient information.\n"
        )
        EmailMessage(subject="IRIS Portal: emergent result - action needed", body=body,
                     from_email=settings.DEFAULT_FROM_EMAIL, to=recipients).send(fail_silently=False)
        grading.emergency_notified_at = timezone.now()
        grading.save(update_fields=["emergency_notified_at"])
    logger.info("emergent grading %s: %d emergency contacts notified", grading_id, len(recipients))
    return True
