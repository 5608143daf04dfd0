"""Canonical messages of the IRIS object model 2.3.1: OrderRequest, GradingSubmission and events.

Liberal in what they accept (case-insensitive keys, the client libraries' quirks, loose dates),
strict in what they emit (``model_dump(by_alias=True)``)."""
from .errors import FieldError, RequestRejected, field_errors_parse
from .events import EVENT_MODELS, EventType, event_payload
from .grading_submission import GradingSubmission
from .jsonio import loads_lenient
from .order_request import OrderRequest, parse_order_request

__all__ = [
    "EVENT_MODELS", "EventType", "FieldError", "GradingSubmission", "OrderRequest",
    "RequestRejected", "event_payload", "field_errors_parse", "loads_lenient", "parse_order_request",
]
