"""Dead letters: Cloud Direct messages whose processing kept failing. They stay in the inbox
(status dead_letter, with the error) for integration administrators to see and replay."""
from django.db import transaction
from django.db.models import QuerySet

from iris_portal.scoping import scope_to_organization

from ...models import InboundChannel, InboundMessage, InboundStatus
from .routing import inbound_reprocess


def dead_letter_list(*, user) -> QuerySet[InboundMessage]:
    """The user's organization's Cloud Direct dead letters, newest first."""
    queryset = InboundMessage.objects.filter(channel=InboundChannel.CLOUDDIRECT, status=InboundStatus.DEAD_LETTER)
    return scope_to_organization(queryset, user).order_by("-received_at", "-pk")


def dead_letter_mark(inbound: InboundMessage) -> None:
    """Give up on a message that failed ``inbound.attempts`` times; keep its last error."""
    inbound.status = InboundStatus.DEAD_LETTER
    inbound.error = f"gave up after {inbound.attempts} failed attempts; last error: {inbound.error}"
    inbound.save(update_fields=["status", "error"])


def dead_letter_replay(*, inbound: InboundMessage, actor=None) -> InboundMessage:
    """Process a dead letter again (idempotent: an order is never created twice). If it fails
    again it stays a dead letter with the new error; otherwise it leaves the list."""
    with transaction.atomic():
        inbound = inbound_reprocess(inbound, actor=actor)
        if inbound.status == InboundStatus.FAILED:
            dead_letter_mark(inbound)
    return inbound
