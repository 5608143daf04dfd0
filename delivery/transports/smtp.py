"""Sending mail over SMTP for the Direct, fax-gateway and notification transports: the shared
server fields, one ``smtp_send`` and one error classification.

A transport whose ``smtp_host`` is blank uses the portal's own mail server (Django's EMAIL_HOST,
EMAIL_PORT, EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS/EMAIL_USE_SSL, EMAIL_TIMEOUT).

Classification (RFC 5321): a 4xx reply is transient, a 5xx reply permanent (a refused login,
an unknown recipient, a rejected message); connection problems are transient; a server that
does not offer STARTTLS when it is required, or whose certificate does not verify, is permanent.
"""
from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from pydantic import Field, field_validator

from .base import ConfigModel, Secret, TransportError
from .neterrors import host_port, network_error

Security = Literal["starttls", "tls", "none"]


class SmtpFields(ConfigModel):
    smtp_host: str = ""
    smtp_port: int | None = Field(None, ge=1, le=65535)
    smtp_security: Security = "starttls"
    smtp_username: str = ""
    smtp_password: Secret = ""
    smtp_timeout: float = Field(30.0, gt=0, le=600)
    smtp_ca_certificate: str = ""  # PEM of a private CA to trust besides the system's

    @field_validator("smtp_ca_certificate")
    @classmethod
    def _ca_readable(cls, value: str) -> str:
        if value:
            try:
                ssl.create_default_context(cadata=value)
            except (ssl.SSLError, ValueError):
                raise ValueError("not a PEM certificate ('-----BEGIN CERTIFICATE-----...')") from None
        return value

    def mail_server(self) -> MailServer:
        if not self.smtp_host:
            return MailServer.portal_default()
        default_port = {"starttls": 587, "tls": 465, "none": 25}[self.smtp_security]
        return MailServer(host=self.smtp_host, port=self.smtp_port or default_port, security=self.smtp_security,
                          username=self.smtp_username, password=self.smtp_password, timeout=self.smtp_timeout,
                          ca_certificate=self.smtp_ca_certificate)


@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    security: Security = "starttls"
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    ca_certificate: str = ""

    @classmethod
    def portal_default(cls) -> MailServer:
        security = "tls" if getattr(settings, "EMAIL_USE_SSL", False) else (
            "starttls" if getattr(settings, "EMAIL_USE_TLS", False) else "none")
        return cls(host=settings.EMAIL_HOST, port=int(settings.EMAIL_PORT), security=security,
                   username=getattr(settings, "EMAIL_HOST_USER", "") or "",
                   password=getattr(settings, "EMAIL_HOST_PASSWORD", "") or "",
                   timeout=getattr(settings, "EMAIL_TIMEOUT", None) or 30.0)

    @property
    def peer(self) -> str:
        return host_port(self.host, self.port)

    def tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context()
        if self.ca_certificate:
            context.load_verify_locations(cadata=self.ca_certificate)
        return context


def address_valid(address: str, what: str) -> str:
    """The address, or a permanent TransportError naming ``what`` (e.g. "Direct address")."""
    try:
        validate_email(address)
    except DjangoValidationError:
        raise TransportError(f"the {what} '{address}' is not a valid address" if address
                             else f"there is no {what} to send to", permanent=True) from None
    return address


def email_field_valid(value: str) -> str:
    """For configuration validators: ValueError when ``value`` is not an email address."""
    try:
        validate_email(value)
    except DjangoValidationError:
        raise ValueError(f"'{value}' is not a valid email address") from None
    return value


def smtp_send(server: MailServer, *, sender: str, recipients: list[str], message: bytes) -> dict[str, str]:
    """Send one message. Returns the recipients the server refused (when others were accepted)
    as {address: reply}; raises TransportError when nothing was accepted or the exchange failed."""
    try:
        if server.security == "tls":
            connection = smtplib.SMTP_SSL(server.host, server.port, timeout=server.timeout,
                                          context=server.tls_context())
        else:
            connection = smtplib.SMTP(server.host, server.port, timeout=server.timeout)
    except (OSError, smtplib.SMTPException) as exc:
        raise smtp_error(exc, server) from None
    try:
        if server.security == "starttls":
            connection.starttls(context=server.tls_context())
        if server.username:
            connection.login(server.username, server.password)
        refused = connection.sendmail(sender, recipients, message)
    except (OSError, smtplib.SMTPException) as exc:
        raise smtp_error(exc, server) from None
    finally:
        try:
            connection.quit()
        except (OSError, smtplib.SMTPException):
            connection.close()
    return {address: f"{code} {_text(reply)}" for address, (code, reply) in refused.items()}


def smtp_error(exc: BaseException, server: MailServer) -> TransportError:
    peer = server.peer
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        if "AUTH" in str(exc):
            return TransportError(f"{peer} does not offer a login (SMTP AUTH) on this connection: leave the "
                                  "user name empty, or use security 'starttls' or 'tls'", permanent=True)
        return TransportError(f"{peer} does not support STARTTLS, which this endpoint requires "
                              "(or choose security 'tls' for port 465)", permanent=True)
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return _reply_error(f"{peer} refused the login for '{server.username}'", exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = exc.recipients.values()
        permanent = all(code >= 500 for code, _ in replies)
        detail = "; ".join(f"{address}: {code} {_text(reply)}"
                           for address, (code, reply) in exc.recipients.items())
        return TransportError(f"{peer} refused the recipient ({detail})", permanent=permanent)
    if isinstance(exc, smtplib.SMTPSenderRefused):
        return _reply_error(f"{peer} refused the sender '{exc.sender}'", exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPDataError):
        return _reply_error(f"{peer} refused the message", exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _reply_error(f"{peer} answered with an error", exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return TransportError(f"{peer} closed the connection unexpectedly")
    if isinstance(exc, OSError):
        return network_error(exc, peer)
    return TransportError(f"mail to {peer} failed: {exc}")


def _reply_error(what: str, code: int, reply: bytes | str) -> TransportError:
    return TransportError(f"{what}: {code} {_text(reply)}", permanent=code >= 500)


def _text(reply: bytes | str) -> str:
    return reply.decode("utf-8", "replace") if isinstance(reply, bytes) else str(reply)
