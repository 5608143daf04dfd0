"""Writing the audit log (R14). Views call ``audit_record`` for every patient/order/report view
and download."""
from django.http import HttpRequest

from .models import AuditEvent
from .prepared import prepared_insert


def client_ip(request: HttpRequest) -> str | None:
    # Behind a trusted proxy set SECURE_PROXY / configure the proxy to overwrite REMOTE_ADDR.
    return request.META.get("REMOTE_ADDR") or None


def audit_record(*, request: HttpRequest, action: str, object_type: str, object_id="") -> AuditEvent:
    user = request.user if request.user.is_authenticated else None
    event = AuditEvent(
        user=user,
        organization_id=getattr(user, "organization_id", None),
        action=action,
        object_type=object_type,
        object_id=str(object_id),
        path=request.get_full_path()[:500],
        ip_address=client_ip(request),
        user_agent=request.META.get("HTTP_USER_AGENT", "")[:300],
    )
    prepared_insert(event)
    return event
