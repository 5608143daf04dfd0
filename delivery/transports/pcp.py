"""PCP copy (SPEC section 7): a copy of the result for the HealthPlan's primary care provider,
by whatever the order gives for the PCP, in this order of preference: Direct address (the CDA,
signed and encrypted), fax number (the PDF), email address (a notification link only: plain email
never carries PHI).

The delivery service puts the PCP's contacts in ``payload.recipient``. The endpoint configures
each channel it is prepared to use (``direct``, ``fax``, ``email``: the configurations of those
transports, without a fixed destination); a PCP with none of the configured contacts is a
permanent failure that says what is missing.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

from .base import (
    ConfigError,
    ConfigModel,
    Contacts,
    DeliveryPayload,
    DeliveryReceipt,
    DocumentKind,
    Transport,
    TransportError,
)
from .direct import DirectTransport
from .fax import FaxTransport
from .notification import NotificationTransport

CHANNELS: dict[str, tuple[type[Transport], str]] = {  # in order of preference
    "direct": (DirectTransport, "direct_address"),
    "fax": (FaxTransport, "fax"),
    "email": (NotificationTransport, "email"),
}
_FIXED_DESTINATIONS = {"direct": "to_address", "fax": "fax_number", "email": "recipients"}


class PcpCopyConfig(ConfigModel):
    direct: dict[str, Any] | None = None
    fax: dict[str, Any] | None = None
    email: dict[str, Any] | None = None

    @classmethod
    def parse(cls, config):
        """Each channel's configuration is checked by its own transport; errors are named
        ``<channel>.<field>`` (e.g. ``direct.signing_key``)."""
        parsed = super().parse(config)
        errors: dict[str, str] = {}
        cleaned: dict[str, dict[str, Any]] = {}
        if not any(getattr(parsed, name) for name in CHANNELS):
            errors[""] = "configure at least one way to reach the PCP: direct, fax or email"
        for name, (transport, _) in CHANNELS.items():
            channel = getattr(parsed, name)
            if not channel:
                continue
            if channel.get(_FIXED_DESTINATIONS[name]):
                errors[f"{name}.{_FIXED_DESTINATIONS[name]}"] = "leave empty: a PCP copy goes to the order's PCP"
            try:
                cleaned[name] = transport.validate_config(channel)
            except ConfigError as exc:
                errors.update(exc.prefixed(name).errors)
        if errors:
            raise ConfigError(errors)
        return parsed.model_copy(update=cleaned)


class PcpCopyTransport(Transport):
    kind = "pcp_copy"
    label = "PCP copy"
    delivery_type = "PCPCopy"
    config_model = PcpCopyConfig
    default_document_kind = DocumentKind.CDA

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        transport, _ = self._channel(payload.recipient)
        with transport:
            receipt = transport.send(payload)
        return replace(receipt, endpoint=f"PCP {receipt.endpoint}")

    def payload_kind(self, configured: DocumentKind, recipient: Contacts) -> DocumentKind:
        """Direct carries the CDA, fax the PDF; a notification email carries no document."""
        try:
            _, name = self._channel(recipient)
        except TransportError:
            return configured
        return {"direct": DocumentKind.CDA, "fax": DocumentKind.PDF}.get(name, configured)

    def _channel(self, recipient: Contacts) -> tuple[Transport, str]:
        for name, (transport_class, contact) in CHANNELS.items():
            config = getattr(self.config, name)
            if config and getattr(recipient, contact):
                return transport_class(config), name
        configured = [name for name in CHANNELS if getattr(self.config, name)]
        raise TransportError(f"the order gives no {' / '.join(_CONTACT_WORDS[n] for n in configured)} for the PCP",
                             permanent=True)


_CONTACT_WORDS = {"direct": "Direct address", "fax": "fax number", "email": "email address"}
