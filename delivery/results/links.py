"""Signed, expiring report links: one result's PDF, without login (for ORU RP links and
notification emails, which carry links rather than PHI, R13). The token names the result by its
transaction id — known before the result set is stored, so a renderer (an ORU with an RP
segment) can put the link into the very result it belongs to — and is signed with SECRET_KEY
(django.core.signing.TimestampSigner); a changed token fails the signature, an old one fails
``max_age``. Every use is audited by the view."""
import datetime as dt
import uuid

from django.conf import settings
from django.core import signing
from django.urls import reverse

from delivery.models import ResultSet

SALT = "delivery.report-link"


class ReportLinkInvalid(Exception):
    """Tampered, malformed, or naming a result that does not exist."""


class ReportLinkExpired(Exception):
    """Signed by us, but older than the allowed age."""


def link_max_age() -> dt.timedelta:
    return dt.timedelta(days=getattr(settings, "IRIS_REPORT_LINK_DAYS", 14))


def report_link_token(*, result_set: ResultSet | None = None, transaction_id: uuid.UUID | str | None = None) -> str:
    """A token for a stored result set, or for the TransactionId of one being rendered."""
    transaction_id = result_set.transaction_id if result_set is not None else transaction_id
    if transaction_id is None:
        raise ValueError("report_link_token needs result_set or transaction_id")
    return signing.TimestampSigner(salt=SALT).sign_object({"t": str(transaction_id)})


def report_link_url(*, result_set: ResultSet | None = None, transaction_id: uuid.UUID | str | None = None) -> str:
    """The absolute link (settings.IRIS_PORTAL_URL) to the result's PDF."""
    token = report_link_token(result_set=result_set, transaction_id=transaction_id)
    return f"{settings.IRIS_PORTAL_URL}{reverse('delivery:report-link', args=[token])}"


def report_link_resolve(token: str, *, max_age: dt.timedelta | None = None) -> ResultSet:
    signer = signing.TimestampSigner(salt=SALT)
    try:
        payload = signer.unsign_object(token, max_age=max_age or link_max_age())
    except signing.SignatureExpired:
        raise ReportLinkExpired from None
    except (signing.BadSignature, ValueError, TypeError):
        raise ReportLinkInvalid from None
    try:
        transaction_id = uuid.UUID(str(payload.get("t")))
    except (AttributeError, ValueError):
        raise ReportLinkInvalid from None
    result_set = ResultSet.objects.filter(transaction_id=transaction_id).first()
    if result_set is None:
        raise ReportLinkInvalid
    return result_set
