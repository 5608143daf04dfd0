"""HL7 v2 over MLLP: a thin adapter over the portal's MLLP client (iris_portal/hl7_mllp_client.py),
which frames the message, checks that the ACK echoes MSH-10, and classifies failures.

The client's own retry loop is switched off (``retries=0``): the delivery service retries with
its backoff and records every attempt. ORU and MDM may be resent (AR/CR, a lost ACK are
transient, AE/CE permanent); a DFT charge is sent at most once (hl7messages.md), so a DFT that may
have reached the peer is a permanent failure and never resent automatically.

The connection is kept between sends of one transport instance.
"""
from __future__ import annotations

import threading

from pydantic import Field

from iris_portal.hl7_mllp_client import MLLPClient, MLLPError

from .base import ConfigModel, DeliveryPayload, DeliveryReceipt, DocumentKind, Transport, TransportError
from .neterrors import host_port


class MllpConfig(ConfigModel):
    host: str
    port: int = Field(ge=1, le=65535)
    connect_timeout: float = Field(10.0, gt=0, le=300)
    response_timeout: float = Field(30.0, gt=0, le=600)
    encoding: str = "utf-8"


class MllpTransport(Transport):
    kind = "mllp"
    label = "HL7 over MLLP"
    delivery_type = "HL7"
    config_model = MllpConfig
    default_document_kind = DocumentKind.ORU

    def __init__(self, config=None):
        super().__init__(config)
        c: MllpConfig = self.config
        self._client = MLLPClient(c.host, c.port, connect_timeout=c.connect_timeout,
                                  response_timeout=c.response_timeout, encoding=c.encoding)
        self._lock = threading.Lock()

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        peer = host_port(self.config.host, self.config.port)
        resend = payload.document_kind != DocumentKind.DFT
        with self._lock:
            try:
                ack = self._client.send(payload.content, retries=0, resend=resend)
            except ValueError as exc:  # not an HL7 message / no MSH-10: the renderer built it wrong
                raise TransportError(f"the result is not a sendable HL7 message: {exc}", permanent=True) from None
            except MLLPError as exc:
                raise TransportError(f"HL7 delivery to {peer} failed: {exc}", permanent=not exc.transient
                                     or (exc.sent and not resend)) from None
        return self.receipt(f"mllp://{peer}", remote_id=ack.control_id, detail=f"ACK {ack.code}")

    def close(self) -> None:
        self._client.close()
