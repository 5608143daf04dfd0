"""The endpoint form's "send test" button: deliver a sample result through a configuration and
say what happened in plain words."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import transport_class
from .base import ConfigError, Contacts, DeliveryReceipt, DocumentKind, TransportError
from .samples import sample_payload

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TransportTestOutcome:
    success: bool
    message: str
    permanent: bool = False
    receipt: DeliveryReceipt | None = None
    field_errors: dict[str, str] | None = None


def transport_test(kind: str, config: Mapping[str, Any] | None, *, document_kind: DocumentKind | None = None,
                   recipient: Contacts | None = None, client_guid: str = "",
                   organization_id: int | None = None) -> TransportTestOutcome:
    """Send a sample of ``document_kind`` (default: the transport's usual one). ``recipient``
    stands in for the order's contacts when the endpoint has no fixed destination."""
    try:
        transport = transport_class(kind)(config)
    except ConfigError as exc:
        return TransportTestOutcome(False, f"The configuration is not valid: {exc.errors_text()}", permanent=True,
                                    field_errors=exc.errors)
    configured = document_kind or transport.default_document_kind
    kind_to_send = transport.payload_kind(configured, recipient or Contacts())
    payload = sample_payload(kind_to_send, recipient=recipient, client_guid=client_guid,
                             organization_id=organization_id)
    try:
        with transport:
            receipt = transport.test_send(payload)
    except TransportError as exc:
        advice = ("This will not fix itself: check the settings and the server." if exc.permanent
                  else "This may be temporary: real deliveries are retried automatically.")
        return TransportTestOutcome(False, f"The test failed: {exc.message}. {advice}", permanent=exc.permanent)
    except Exception as exc:  # noqa: BLE001 - the button must answer, whatever broke
        logger.exception("send test of a %s endpoint failed unexpectedly", kind)
        return TransportTestOutcome(False, f"The test failed with an unexpected error ({type(exc).__name__}); "
                                    "the details are in the server log.")
    detail = f" ({receipt.detail})" if receipt.detail else ""
    return TransportTestOutcome(True, f"Test {kind_to_send.upper()} delivered: {receipt.transmission_status} "
                                f"to {receipt.endpoint}{detail}.", receipt=receipt)
