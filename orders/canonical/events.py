"""Events of objectmodel/EventsObject.md, emitted strictly (PascalCase, every documented key)."""
import datetime as dt
import uuid
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

VERSION = "2.3.1"


class EventType(StrEnum):
    ORDER_CREATION_RECEIPT = "OrderCreationReceipt"
    ORDER_CANCELLED = "OrderCancelled"
    IMAGE_RECEIPT = "ImageReceipt"
    READY_FOR_GRADING = "ReadyForGradingEvent"
    GRADING_RECEIPT = "GradingReceipt"
    ORDER_GRADED = "OrderGradedEvent"
    RESULTS_DELIVERY_RECEIPT = "ResultsDeliveryReceipt"


class BaseEvent(BaseModel):
    model_config = ConfigDict(serialize_by_alias=True, validate_by_name=True, validate_by_alias=True)

    transaction_id: uuid.UUID = Field(alias="TransactionId")
    timestamp: dt.datetime = Field(alias="Timestamp")
    success: bool = Field(True, alias="Success")
    error_message: str | None = Field(None, alias="ErrorMessage")
    result_object_type: str = Field(alias="ResultObjectType")
    version: str = Field(VERSION, alias="Version")
    warnings: list[str] | None = Field(
        None, alias="Warnings",
        description="Portal extension: non-blocking remarks (ignored fields, NPI check digit).",
    )


class OrderEvent(BaseEvent):
    iris_order_id: int | None = Field(None, alias="IrisOrderId")
    order_local_id: str | None = Field(None, alias="OrderLocalId")
    patient_local_id: str | None = Field(None, alias="PatientLocalId")


class OrderCreationReceipt(OrderEvent):
    pass


class OrderCancelled(OrderEvent):
    pass


class ImageReceipt(OrderEvent):
    image_local_id: str | None = Field(None, alias="ImageLocalId")
    iris_image_id: int | None = Field(None, alias="IrisImageId")


class ReadyForGradingEvent(OrderEvent):
    pass


class GradingReceipt(OrderEvent):
    pass


class OrderGradedEvent(OrderEvent):
    pass


class ResultsDeliveryReceipt(OrderEvent):
    time_delivered: dt.datetime | None = Field(None, alias="TimeDelivered")
    delivery_type: str | None = Field(None, alias="DeliveryType")
    endpoint: str | None = Field(None, alias="Endpoint")
    transmission_status: str | None = Field(None, alias="TransmissionStatus")


EVENT_MODELS: dict[str, type[BaseEvent]] = {
    EventType.ORDER_CREATION_RECEIPT: OrderCreationReceipt,
    EventType.ORDER_CANCELLED: OrderCancelled,
    EventType.IMAGE_RECEIPT: ImageReceipt,
    EventType.READY_FOR_GRADING: ReadyForGradingEvent,
    EventType.GRADING_RECEIPT: GradingReceipt,
    EventType.ORDER_GRADED: OrderGradedEvent,
    EventType.RESULTS_DELIVERY_RECEIPT: ResultsDeliveryReceipt,
}


def event_payload(event_type: str, **fields) -> dict:
    """The JSON-ready dict of one event; fields by their Python names."""
    model = EVENT_MODELS[event_type]
    fields.setdefault("transaction_id", uuid.uuid4())
    fields.setdefault("timestamp", dt.datetime.now(dt.UTC))
    plain = _plain_payload(model, str(event_type), fields)
    if plain is not None:
        return plain
    event = model(result_object_type=str(event_type), **fields)
    return event.model_dump(mode="json", exclude_none=False, exclude={"warnings"} if not fields.get("warnings") else set())


# The fields of the events that carry only an order's ids (OrderCreationReceipt, OrderCancelled,
# ...), with the exact types the model would keep unchanged: their payload is built as a dict
# (~1 µs instead of ~10 µs through the model, a bulk import makes one per row). Anything else
# (other fields or types, a non-UTC timestamp) goes through the model.
_PLAIN_MODELS = frozenset(model for model in EVENT_MODELS.values() if model.model_fields.keys() == OrderEvent.model_fields.keys())
_OPTIONAL_TEXT = (str, type(None))
_PLAIN_TYPES = frozenset((name, kind) for name, kinds in {  # (field, exact type of its value)
    "transaction_id": (uuid.UUID,), "timestamp": (dt.datetime,), "success": (bool,), "error_message": _OPTIONAL_TEXT,
    "warnings": (list, type(None)), "iris_order_id": (int, type(None)), "order_local_id": _OPTIONAL_TEXT,
    "patient_local_id": _OPTIONAL_TEXT,
}.items() for kind in kinds)


def _plain_payload(model: type[BaseEvent], event_type: str, fields: dict) -> dict | None:
    """``model(...).model_dump(mode="json")`` for the plain order events, or None when unsure."""
    if model not in _PLAIN_MODELS:
        return None
    for name, value in fields.items():
        if (name, type(value)) not in _PLAIN_TYPES:
            return None
    stamp, warnings, order_id = fields["timestamp"], fields.get("warnings"), fields.get("iris_order_id")
    if stamp.tzinfo is not dt.UTC or (warnings and any(type(text) is not str for text in warnings)):
        return None
    payload = {
        "TransactionId": str(fields["transaction_id"]), "Timestamp": stamp.replace(tzinfo=None).isoformat() + "Z",
        "Success": fields.get("success", True), "ErrorMessage": fields.get("error_message"),
        "ResultObjectType": event_type, "Version": VERSION,
    }
    if warnings:
        payload["Warnings"] = list(warnings)
    payload["IrisOrderId"] = order_id
    payload["OrderLocalId"] = fields.get("order_local_id")
    payload["PatientLocalId"] = fields.get("patient_local_id")
    return payload
