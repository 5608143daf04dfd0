"""Direct secure messaging (DirectMessaging.md): the result document (a CDA wrapping the PDF,
or whatever the endpoint's payload is) attached to a mail that is S/MIME signed with the sender's
Direct certificate, encrypted for the recipient's, and handed to the HISP's SMTP server.

The recipient is the endpoint's fixed ``to_address`` (an organization's or site's Direct
address), or else the Direct address the order carries (its own, or its PCP's). Recipient
certificates are configured on the endpoint (a PEM bundle, address- or domain-bound); discovering
them through DNS CERT / LDAP is not done.

The outer headers travel unencrypted, so the subject is fixed text without patient data.
"""
from __future__ import annotations

import email.utils
import re
from email.message import EmailMessage
from email.policy import SMTP
from typing import Literal

from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import ValidationInfo, field_validator

from .base import (
    DeliveryPayload,
    DeliveryReceipt,
    DocumentKind,
    Secret,
    TransmissionStatus,
    Transport,
    TransportError,
)
from .smime import (
    certificate_bound_to,
    certificate_for,
    certificate_problem,
    certificates_load,
    key_matches,
    private_key_load,
    smime_encrypt,
    smime_sign,
)
from .smtp import SmtpFields, address_valid, email_field_valid, smtp_send

SUBJECT = "Results from IRIS Portal"
BODY = "The attached document contains results sent by IRIS Portal through Direct secure messaging.\r\n"


class DirectConfig(SmtpFields):
    from_address: str
    signing_certificate: str
    signing_key_passphrase: Secret = ""
    signing_key: Secret
    recipient_certificates: str
    to_address: str = ""
    encryption: Literal["aes256", "aes128"] = "aes256"

    @field_validator("from_address")
    @classmethod
    def _from_valid(cls, value: str) -> str:
        return email_field_valid(value)

    @field_validator("signing_certificate")
    @classmethod
    def _signer_valid(cls, value: str, info: ValidationInfo) -> str:
        signer = certificates_load(value)[0]
        problem = certificate_problem(signer)
        if problem:
            raise ValueError(f"the signing certificate {problem}")
        sender = info.data.get("from_address")
        if sender and not certificate_bound_to(signer, sender):
            raise ValueError(f"the signing certificate is not issued to {sender} or its domain")
        return value

    @field_validator("signing_key")
    @classmethod
    def _key_matches(cls, value: str, info: ValidationInfo) -> str:
        key = private_key_load(value, info.data.get("signing_key_passphrase", ""))
        certificate = info.data.get("signing_certificate")
        if certificate and not key_matches(certificates_load(certificate)[0], key):
            raise ValueError("the private key does not belong to the signing certificate")
        return value

    @field_validator("recipient_certificates")
    @classmethod
    def _recipients_valid(cls, value: str) -> str:
        for certificate in certificates_load(value):
            if not isinstance(certificate.public_key(), rsa.RSAPublicKey):
                raise ValueError("recipient certificates must have RSA keys (S/MIME encryption needs RSA)")
        return value

    @field_validator("to_address")
    @classmethod
    def _to_has_certificate(cls, value: str, info: ValidationInfo) -> str:
        if value:
            email_field_valid(value)
            bundle = info.data.get("recipient_certificates")
            if bundle and certificate_for(value, certificates_load(bundle)) is None:
                raise ValueError(f"no recipient certificate is issued to {value} or its domain")
        return value


class DirectTransport(Transport):
    kind = "direct"
    label = "Direct secure messaging"
    delivery_type = "DirectMessaging"
    config_model = DirectConfig
    default_document_kind = DocumentKind.CDA

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        config: DirectConfig = self.config
        recipient = address_valid(config.to_address or payload.recipient.direct_address, "Direct address")
        certificate = certificate_for(recipient, certificates_load(config.recipient_certificates))
        if certificate is None:
            raise TransportError(f"there is no encryption certificate for the Direct address {recipient}: add the "
                                 "recipient's certificate to the endpoint", permanent=True)
        signer, *chain = certificates_load(config.signing_certificate)
        for owner, cert in (("recipient's", certificate), ("signing", signer)):
            problem = certificate_problem(cert)
            if problem:
                raise TransportError(f"the {owner} certificate {problem}", permanent=True)
        key = private_key_load(config.signing_key, config.signing_key_passphrase)
        signed = smime_sign(_inner_entity(payload), signer, key, chain)
        enveloped = smime_encrypt(signed, certificate, config.encryption)
        message_id = _message_id(config.from_address, payload.delivery_key)
        message = _with_headers(enveloped, sender=config.from_address, recipient=recipient, message_id=message_id)
        smtp_send(config.mail_server(), sender=config.from_address, recipients=[recipient], message=message)
        return self.receipt(recipient, remote_id=message_id, status=TransmissionStatus.SENT)


def _inner_entity(payload: DeliveryPayload) -> bytes:
    """The MIME entity that gets signed: a short text and the document, CRLF line ends."""
    entity = EmailMessage(policy=SMTP)
    entity.set_content(BODY)
    maintype, _, subtype = payload.content_type.split(";")[0].strip().partition("/")
    entity.add_attachment(payload.content, maintype=maintype or "application", subtype=subtype or "octet-stream",
                          filename=payload.file_name)
    return entity.as_bytes(policy=SMTP)


def _message_id(sender: str, delivery_key: str) -> str:
    domain = sender.rpartition("@")[2]
    if delivery_key:  # the same delivery retried keeps its Message-ID, so receivers can de-duplicate
        return f"<iris-delivery-{re.sub(r'[^A-Za-z0-9.-]', '-', delivery_key)}@{domain}>"
    return email.utils.make_msgid("iris", domain=domain)


def _with_headers(enveloped: bytes, *, sender: str, recipient: str, message_id: str) -> bytes:
    """The envelope with the outer headers (addresses are validated, so no header injection)."""
    headers = (f"From: {sender}\r\nTo: {recipient}\r\nSubject: {SUBJECT}\r\n"
               f"Date: {email.utils.formatdate(usegmt=True)}\r\nMessage-ID: {message_id}\r\n")
    return headers.encode("ascii") + enveloped.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
