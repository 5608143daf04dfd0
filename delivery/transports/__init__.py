"""Delivery transports: one module per kind behind one interface (base.Transport), found through
this registry of ``kind -> dotted path`` (imported on first use, so a transport's dependencies load
only where it is used)."""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.module_loading import import_string

from .base import (
    ConfigError,
    Contacts,
    DeliveryPayload,
    DeliveryReceipt,
    DocumentKind,
    TransmissionStatus,
    Transport,
    TransportError,
)

TRANSPORTS: dict[str, str] = {
    "portal": "delivery.transports.portal.PortalPickupTransport",
    "file": "delivery.transports.filesystem.FileSystemTransport",
    "sftp": "delivery.transports.sftp.SftpTransport",
    "mllp": "delivery.transports.mllp.MllpTransport",
    "direct": "delivery.transports.direct.DirectTransport",
    "fax": "delivery.transports.fax.FaxTransport",
    "clouddirect": "delivery.transports.clouddirect.CloudDirectTransport",
    "pcp_copy": "delivery.transports.pcp.PcpCopyTransport",
    "notification": "delivery.transports.notification.NotificationTransport",
}


def transport_class(kind: str) -> type[Transport]:
    try:
        path = TRANSPORTS[kind]
    except KeyError:
        raise ValueError(f"unknown transport kind '{kind}' (known: {', '.join(TRANSPORTS)})") from None
    return import_string(path)


def transport_build(kind: str, config: Mapping[str, Any] | None) -> Transport:
    """A transport ready to send; ConfigError when the stored configuration is no longer valid."""
    return transport_class(kind)(config)


def transport_choices() -> list[tuple[str, str]]:
    """(kind, label) pairs for a form's kind field."""
    return [(kind, transport_class(kind).label) for kind in TRANSPORTS]


__all__ = [
    "TRANSPORTS", "ConfigError", "Contacts", "DeliveryPayload", "DeliveryReceipt", "DocumentKind",
    "TransmissionStatus", "Transport", "TransportError", "transport_build", "transport_choices", "transport_class",
]
