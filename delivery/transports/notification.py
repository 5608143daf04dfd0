"""Notification email (SPEC section 7, R13): tells organization contacts that a result is ready.

The mail carries one link and nothing else: no patient name, birth date, identifiers or
document. The link is the payload's ``result_link``, which the delivery service makes with
``delivery.results.links.report_link_url`` (signed with SECRET_KEY, expiring, audited when used),
so there is one signed-link scheme in the portal.

Recipients are the endpoint's ``recipients``, or else the email address the order carries
(its PCP's).
"""
from __future__ import annotations

import email.utils
from email.message import EmailMessage
from email.policy import SMTP
from typing import Any

from django.conf import settings
from pydantic import field_validator

from .base import DeliveryPayload, DeliveryReceipt, Transport, TransportError
from .smtp import SmtpFields, address_valid, email_field_valid, smtp_send

SUBJECT = "IRIS Portal: a new result is available"


class NotificationConfig(SmtpFields):
    recipients: list[str] = []
    from_address: str = ""

    @field_validator("recipients", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):  # a textarea: one address a line, or separated by commas
            return [part.strip() for part in value.replace(",", "\n").splitlines() if part.strip()]
        return value

    @field_validator("recipients")
    @classmethod
    def _addresses(cls, value: list[str]) -> list[str]:
        return [email_field_valid(address) for address in value]

    @field_validator("from_address")
    @classmethod
    def _from_valid(cls, value: str) -> str:
        return email_field_valid(value) if value else value


class NotificationTransport(Transport):
    kind = "notification"
    label = "Notification email (link only)"
    delivery_type = "Email"
    config_model = NotificationConfig

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        config: NotificationConfig = self.config
        recipients = config.recipients or [address_valid(payload.recipient.email, "email address")]
        if not payload.result_link.startswith(("https://", "http://")):
            raise TransportError("the result has no link to send", permanent=True)
        sender = config.from_address or settings.DEFAULT_FROM_EMAIL
        link = payload.result_link
        message = EmailMessage(policy=SMTP)
        message["From"], message["To"], message["Subject"] = sender, ", ".join(recipients), SUBJECT
        message["Date"] = email.utils.formatdate(usegmt=True)
        message_id = email.utils.make_msgid("iris-notice", domain=sender.rpartition("@")[2])
        message["Message-ID"] = message_id
        message.set_content(
            "A new result is available in IRIS Portal.\n\n"
            f"Open it here (the link expires):\n{link}\n\n"
            "This message deliberately contains no patient information.\n")
        refused = smtp_send(config.mail_server(), sender=sender, recipients=recipients, message=message.as_bytes())
        detail = "; ".join(f"refused {address}: {reply}" for address, reply in refused.items())
        delivered = [address for address in recipients if address not in refused]
        return self.receipt(", ".join(delivered), remote_id=message_id, detail=detail)
