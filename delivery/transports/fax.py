"""Fax delivery (Resultsgeneration.md "Fax Results"): the PDF report to a fax number, through an
email-to-fax gateway over SMTP or a fax service's HTTP API.

The number is the endpoint's fixed ``fax_number`` (organization or site) or else the one the
order carries (its PCP's). Numbers are normalized to digits: a number written with ``+`` is
international, anything else is national and gets ``country_code`` in front (a national number
that already starts with it, such as 1-555-..., is recognised); ``include_country_code`` decides
whether the gateway sees it.

``FaxSender`` is the seam between the transport and a fax service: ``EmailFaxGateway`` mails the
PDF to ``address_pattern`` (e.g. ``{fax}@fax.example.com``); ``HttpFaxApi`` posts it as JSON
(see ``HttpFaxApi.submit`` for the contract; adapting a particular vendor means one subclass).
Either way the fax itself is sent later by the service, so the receipt says Queued.
"""
from __future__ import annotations

import base64
import email.utils
import json
import re
import urllib.error
import urllib.request
from email.message import EmailMessage
from email.policy import SMTP
from typing import Literal, Protocol

from django.conf import settings
from pydantic import Field, ValidationInfo, field_validator

from .base import DeliveryPayload, DeliveryReceipt, Secret, TransmissionStatus, Transport, TransportError
from .neterrors import network_error
from .smtp import SmtpFields, address_valid, email_field_valid, smtp_send

SUBJECT = "Fax from IRIS Portal"
PLACEHOLDER = "{fax}"
_NUMBER_CHARS = re.compile(r"^\+?[\d\s().\-/]+$")
# Answers of a fax API that no retry can change; everything else (408, 429, 5xx) is transient.
_PERMANENT_HTTP = {400, 401, 402, 403, 404, 405, 410, 413, 415, 422}


def fax_number_normalize(raw: str, *, country_code: str = "1", include_country_code: bool = True) -> str:
    """Digits only, with or without the country code; ValueError in plain words when it is not a
    plausible fax number (E.164: at most 15 digits)."""
    text = (raw or "").strip()
    if not text:
        raise ValueError("there is no fax number")
    if not _NUMBER_CHARS.match(text):
        raise ValueError(f"'{text}' is not a fax number (digits, spaces, +, -, parentheses only)")
    digits = re.sub(r"\D", "", text)
    if text.startswith("+") or (country_code and digits.startswith(country_code) and len(digits) > 10):
        full = digits
    else:
        full = country_code + digits
    national = full[len(country_code):] if country_code and full.startswith(country_code) else full
    if len(national) < 7 or len(full) > 15:
        raise ValueError(f"'{text}' has {len(digits)} digits, which is not a valid fax number")
    return full if include_country_code else national


class FaxConfig(SmtpFields):
    method: Literal["email", "http_api"] = "email"
    country_code: str = Field("1", pattern=r"^\d{0,3}$")
    include_country_code: bool = True
    fax_number: str = ""
    address_pattern: str = Field("", validate_default=True)
    from_address: str = ""
    api_url: str = Field("", validate_default=True)
    api_token: Secret = ""
    api_timeout: float = Field(30.0, gt=0, le=600)

    @field_validator("fax_number")
    @classmethod
    def _number_valid(cls, value: str, info: ValidationInfo) -> str:
        if value:
            fax_number_normalize(value, country_code=info.data.get("country_code", "1"))
        return value

    @field_validator("address_pattern")
    @classmethod
    def _pattern_valid(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("method") != "email":
            return value
        if value.count(PLACEHOLDER) != 1 or value.replace(PLACEHOLDER, "").count("{") \
                or value.replace(PLACEHOLDER, "").count("}"):
            raise ValueError("enter the gateway's address with {fax} once where the number goes, "
                             "e.g. {fax}@fax.example.com")
        email_field_valid(value.replace(PLACEHOLDER, "15555550100"))
        return value

    @field_validator("from_address")
    @classmethod
    def _from_valid(cls, value: str) -> str:
        return email_field_valid(value) if value else value

    @field_validator("api_url")
    @classmethod
    def _url_valid(cls, value: str, info: ValidationInfo) -> str:
        if info.data.get("method") == "http_api" and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError("enter the fax service's URL, e.g. https://api.fax.example.com/v1/faxes")
        return value


class FaxSender(Protocol):
    """The seam to a fax service: accept the PDF for ``number``, return the service's id."""

    def submit(self, number: str, payload: DeliveryPayload) -> str: ...


class EmailFaxGateway:
    def __init__(self, config: FaxConfig):
        self.config = config

    def submit(self, number: str, payload: DeliveryPayload) -> str:
        gateway = address_valid(self.config.address_pattern.replace(PLACEHOLDER, number), "fax gateway address")
        sender = self.config.from_address or settings.DEFAULT_FROM_EMAIL
        message = EmailMessage(policy=SMTP)
        message["From"], message["To"], message["Subject"] = sender, gateway, SUBJECT
        message["Date"] = email.utils.formatdate(usegmt=True)
        message["Message-ID"] = message_id = email.utils.make_msgid("iris-fax", domain=sender.rpartition("@")[2])
        message.set_content("Fax from IRIS Portal: the document is attached.\n")
        message.add_attachment(payload.content, maintype="application", subtype="pdf", filename="result.pdf")
        smtp_send(self.config.mail_server(), sender=sender, recipients=[gateway], message=message.as_bytes())
        return message_id


class HttpFaxApi:
    """A generic JSON fax API: ``POST api_url`` with ``Authorization: Bearer <api_token>``,
    ``Idempotency-Key: <delivery key>`` and ``{"to": "+15555550100", "file_name": ...,
    "content_type": "application/pdf", "content_base64": ...}``; a 2xx answer's JSON ``id`` is the
    fax id. 400/401/403/404/422... are permanent, 408/429/5xx and network errors transient."""

    def __init__(self, config: FaxConfig):
        self.config = config

    def submit(self, number: str, payload: DeliveryPayload) -> str:
        config = self.config
        body = json.dumps({
            "to": f"+{number}" if config.include_country_code else number,
            "file_name": "result.pdf",
            "content_type": "application/pdf",
            "content_base64": base64.b64encode(payload.content).decode("ascii"),
        }).encode()
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
        if config.api_token:
            headers["Authorization"] = f"Bearer {config.api_token}"
        if payload.delivery_key:
            headers["Idempotency-Key"] = payload.delivery_key
        request = urllib.request.Request(config.api_url, data=body, headers=headers, method="POST")
        host = urllib.request.urlparse(config.api_url).netloc
        try:
            with urllib.request.urlopen(request, timeout=config.api_timeout) as response:
                answer = response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read(500).decode("utf-8", "replace").strip()
            answer = f"{exc.code} {exc.reason}" + (f": {detail}" if detail else "")
            raise TransportError(f"the fax service at {host} answered {answer}",
                                 permanent=exc.code in _PERMANENT_HTTP) from None
        except urllib.error.URLError as exc:
            reason = exc.reason if isinstance(exc.reason, OSError) else OSError(str(exc.reason))
            raise network_error(reason, host) from None
        except OSError as exc:
            raise network_error(exc, host) from None
        try:
            fax_id = json.loads(answer)["id"]
        except (ValueError, KeyError, TypeError):
            raise TransportError(f"the fax service at {host} accepted the fax but its answer has no 'id'") \
                from None
        return str(fax_id)


class FaxTransport(Transport):
    kind = "fax"
    label = "Fax"
    delivery_type = "Fax"
    config_model = FaxConfig

    def sender(self) -> FaxSender:
        return HttpFaxApi(self.config) if self.config.method == "http_api" else EmailFaxGateway(self.config)

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        config: FaxConfig = self.config
        try:
            number = fax_number_normalize(config.fax_number or payload.recipient.fax,
                                          country_code=config.country_code,
                                          include_country_code=config.include_country_code)
        except ValueError as exc:
            raise TransportError(str(exc), permanent=True) from None
        if not payload.content_type.startswith("application/pdf"):
            raise TransportError("fax needs the PDF report: set the endpoint's payload to PDF", permanent=True)
        fax_id = self.sender().submit(number, payload)
        return self.receipt(f"fax:{number}", remote_id=fax_id, status=TransmissionStatus.QUEUED)
