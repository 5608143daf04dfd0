"""The one interface every delivery transport implements (SPEC section 7, R12).

Shaped after healthchecks' ``hc/api/transports.py``: a transport gets its endpoint's
configuration, ``send()`` either returns a receipt or raises ``TransportError`` whose
``permanent`` flag tells the delivery service whether a retry can help. Transports know nothing
about Delivery rows, retries or events; the service records attempts around ``send()``.

Configuration is a plain dict (stored as JSON on the endpoint). Each transport declares a
pydantic model for it; ``validate_config()`` returns the cleaned dict or raises ``ConfigError``
with one message per field, ready for a Django form's ``add_error(field, message)``.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError


class DocumentKind(StrEnum):
    """What the payload's bytes are (the endpoint's payload setting)."""

    PDF = "pdf"
    HTML = "html"
    JSON = "json"
    ORU = "oru"
    MDM = "mdm"
    DFT = "dft"
    CDA = "cda"


@dataclass(frozen=True)
class Contacts:
    """Where the order itself asks the result to go (its Direct address, or the HealthPlan PCP's
    Direct address / email / fax). Transports configured without a fixed destination use these."""

    direct_address: str = ""
    email: str = ""
    fax: str = ""


@dataclass(frozen=True)
class DeliveryPayload:
    """One rendered result for one destination, plus the order facts transports may need.

    ``reference_time`` is the moment the date tokens of file-name templates use; the delivery
    service passes the delivery row's creation time so that a retry writes the same name (a
    retried delivery then replaces its own earlier file instead of adding a second one).
    ``delivery_key`` identifies the delivery (its row id); transports use it as an idempotency
    key where the peer supports one (Message-ID, the fax API's Idempotency-Key).
    ``result_link`` is the signed, expiring link to the result
    (``delivery.results.links.report_link_url``) for transports that send a link instead of the
    document (notification email)."""

    # Fields that may carry PHI are left out of repr(), so a logged payload or traceback shows ids only.
    file_name: str = field(repr=False)
    content: bytes = field(repr=False)
    content_type: str
    document_kind: DocumentKind
    order_id: int | None = None
    order_local_id: str = field(default="", repr=False)
    patient_id: int | None = None
    patient_local_id: str = field(default="", repr=False)
    patient_first_name: str = field(default="", repr=False)
    patient_last_name: str = field(default="", repr=False)
    organization_id: int | None = None
    client_guid: str = ""
    site_id: int | None = None
    site_local_id: str = ""
    department_local_id: str = ""
    result_code: str = "F"
    recipient: Contacts = field(default_factory=Contacts, repr=False)
    reference_time: dt.datetime | None = None
    delivery_key: str = ""
    result_link: str = field(default="", repr=False)

    def template_values(self) -> dict[str, Any]:
        """Values of the order tokens of FileNameTemplates.md (dates are added by the template)."""
        return {
            "patientId": self.patient_id,
            "patientLocalId": self.patient_local_id,
            "orderId": self.order_id,
            "orderLocalId": self.order_local_id,
            "patientFirstName": self.patient_first_name,
            "patientLastName": self.patient_last_name,
            "clientLocalId": self.site_local_id,
            "departmentLocalId": self.department_local_id,
        }

    def moment(self) -> dt.datetime:
        return self.reference_time or dt.datetime.now(dt.UTC)


class TransmissionStatus(StrEnum):
    """ResultsDeliveryReceipt.TransmissionStatus: what is known when ``send()`` returns."""

    DELIVERED = "Delivered"  # the peer has the result (file written, ACK received, stream entry)
    SENT = "Sent"  # handed to a relay that delivers on (Direct HISP)
    QUEUED = "Queued"  # accepted for asynchronous transmission (fax)
    PENDING_PICKUP = "PendingPickup"  # waits in the portal until downloaded


@dataclass(frozen=True)
class DeliveryReceipt:
    """What a successful ``send()`` returns; maps onto ResultsDeliveryReceipt
    (DeliveryType, Endpoint, TimeDelivered, TransmissionStatus).

    ``endpoint`` may contain template values (a file path with a patient name): store it with the
    delivery, never log it."""

    delivery_type: str
    endpoint: str
    remote_id: str = ""
    delivered_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    transmission_status: TransmissionStatus = TransmissionStatus.DELIVERED
    detail: str = ""

    def event_fields(self) -> dict[str, Any]:
        """The ResultsDeliveryReceipt properties this receipt provides (orders/canonical/events.py)."""
        return {"TimeDelivered": self.delivered_at, "DeliveryType": self.delivery_type,
                "Endpoint": self.endpoint, "TransmissionStatus": str(self.transmission_status)}


class TransportError(Exception):
    """Sending failed. ``permanent``: retrying cannot help until someone changes something
    (credentials, host key, address, configuration); otherwise the service retries with backoff.
    The message is written for clinic staff and integration admins: plain words, no PHI."""

    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.message = message
        self.permanent = permanent

    def __str__(self) -> str:
        return self.message


class ConfigError(ValueError):
    """An endpoint configuration is invalid. ``errors`` maps a field name (dotted for nested
    configurations, "" for the whole configuration) to a message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        super().__init__(f"invalid configuration: {self.errors_text()}")

    def errors_text(self) -> str:
        return "; ".join(f"{name}: {message}" if name else message for name, message in self.errors.items())

    def prefixed(self, prefix: str) -> ConfigError:
        return ConfigError({f"{prefix}.{name}" if name else prefix: message
                            for name, message in self.errors.items()})


# A secret keeps its whitespace (a password is what it is) and is marked for forms and displays.
Secret = Annotated[str, StringConstraints(strip_whitespace=False), Field(json_schema_extra={"secret": True})]

_PYDANTIC_PREFIXES = ("Value error, ", "Assertion failed, ")
_FRIENDLY = {"missing": "this field is required", "extra_forbidden": "unknown field"}


class ConfigModel(BaseModel):
    """Base of every transport configuration: unknown fields refused, strings stripped."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True)

    @classmethod
    def parse(cls, config: Mapping[str, Any] | None) -> Self:
        try:
            return cls.model_validate(dict(config or {}))
        except ValidationError as exc:
            raise ConfigError(config_errors(exc)) from None

    def cleaned(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    @classmethod
    def secret_fields(cls) -> set[str]:
        return {name for name, info in cls.model_fields.items()
                if isinstance(info.json_schema_extra, dict) and info.json_schema_extra.get("secret")}


def config_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        name = ".".join(str(part) for part in error["loc"])
        message = _FRIENDLY.get(error["type"], error["msg"])
        for prefix in _PYDANTIC_PREFIXES:
            message = message.removeprefix(prefix)
        errors.setdefault(name, message)
    return errors


class NoConfig(ConfigModel):
    """For transports that need no settings."""


class Transport:
    """Base class: one subclass per kind, registered in delivery/transports/__init__.py.

    A transport instance may be kept and reused for many sends (SFTP keeps its connection);
    ``close()`` releases what it holds. ``send()`` returns a receipt or raises TransportError;
    anything else escaping it is a bug, which the delivery service treats as transient."""

    kind: ClassVar[str] = ""
    label: ClassVar[str] = ""
    delivery_type: ClassVar[str] = ""  # ResultsDeliveryReceipt.DeliveryType
    config_model: ClassVar[type[ConfigModel]] = NoConfig
    default_document_kind: ClassVar[DocumentKind] = DocumentKind.PDF
    # False for portal pickup: the delivery completes when organization users download it.
    delivered_on_send: ClassVar[bool] = True
    # False for the Cloud Direct results stream (EventsObject.md: no receipt for the stream itself).
    emits_receipt: ClassVar[bool] = True

    def __init__(self, config: Mapping[str, Any] | None = None):
        self.config = self.config_model.parse(config)

    @classmethod
    def validate_config(cls, config: Mapping[str, Any] | None) -> dict[str, Any]:
        """The cleaned configuration (JSON-ready), or ConfigError naming each bad field."""
        return cls.config_model.parse(config).cleaned()

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        raise NotImplementedError

    def payload_kind(self, configured: DocumentKind, recipient: Contacts) -> DocumentKind:
        """The document the service should render for this send: the endpoint's payload setting,
        unless the transport chooses by destination (PCP copy: CDA for Direct, PDF for fax)."""
        return configured

    def test_send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        """What the endpoint form's "send test" does; a transport whose peer must not receive a
        sample result overrides it with a reachability check."""
        return self.send(payload)

    def close(self) -> None:
        """Release connections; the transport reconnects on its next send."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def receipt(self, endpoint: str, *, remote_id: str = "", detail: str = "",
                status: TransmissionStatus = TransmissionStatus.DELIVERED) -> DeliveryReceipt:
        return DeliveryReceipt(delivery_type=self.delivery_type, endpoint=endpoint, remote_id=remote_id,
                               transmission_status=status, detail=detail)
