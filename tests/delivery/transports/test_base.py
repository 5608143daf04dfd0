"""The interface: registry, configuration errors, payload values, receipts, the test outcome."""
import datetime as dt
import io
import json

import pytest
from pypdf import PdfReader

from delivery.transports import (
    TRANSPORTS,
    ConfigError,
    DeliveryReceipt,
    DocumentKind,
    Transport,
    TransportError,
    transport_build,
    transport_choices,
    transport_class,
)
from delivery.filenames import VALUE_TOKENS
from delivery.transports.samples import sample_payload
from iris_portal.hl7_mllp_client import message_control_id
from orders.canonical.events import ResultsDeliveryReceipt


def test_every_registered_kind_is_a_transport_with_a_label_and_type():
    for kind in TRANSPORTS:
        cls = transport_class(kind)
        assert issubclass(cls, Transport) and cls.kind == kind and cls.label and cls.delivery_type
    assert [kind for kind, _ in transport_choices()] == list(TRANSPORTS)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError, match="unknown transport kind 'pigeon'"):
        transport_class("pigeon")


def test_building_with_a_bad_stored_configuration_raises_config_error():
    with pytest.raises(ConfigError) as failure:
        transport_build("file", {"base_folder": "relative"})
    assert set(failure.value.errors) == {"base_folder", "file_name_template"}
    assert str(failure.value).startswith("invalid configuration: ")


def test_transport_error_is_transient_unless_marked():
    assert TransportError("down").permanent is False
    assert TransportError("bad key", permanent=True).permanent is True
    assert str(TransportError("plain words")) == "plain words"


def test_payload_template_values_cover_the_order_tokens(payload):
    assert set(payload.template_values()) == set(VALUE_TOKENS)
    assert payload.moment() == dt.datetime(2024, 9, 1, 9, 4, 21, tzinfo=dt.UTC)


def test_payload_repr_shows_ids_not_phi(payload):
    text = repr(payload)
    assert "order_id=4711" in text and "delivery_key='42'" in text
    for phi in ("Ana", "O'Brien", "MRN-77", "P0112X00123", "DOB"):
        assert phi not in text


def test_receipt_fields_fit_the_results_delivery_receipt_event():
    receipt = DeliveryReceipt(delivery_type="SFTP", endpoint="iris@host:22:/upload/x.pdf")
    event = ResultsDeliveryReceipt(TransactionId="8b0f2d4e-3a43-4c0c-9d67-cf5b0c1c7a11",
                                   Timestamp=receipt.delivered_at, ResultObjectType="ResultsDeliveryReceipt",
                                   IrisOrderId=1, OrderLocalId="A", **receipt.event_fields())
    dumped = event.model_dump(mode="json")
    assert dumped["DeliveryType"] == "SFTP" and dumped["TransmissionStatus"] == "Delivered"


@pytest.mark.parametrize("kind", list(DocumentKind))
def test_sample_payloads_are_valid_documents(kind):
    sample = sample_payload(kind)
    assert sample.document_kind == kind and sample.content
    if kind == DocumentKind.PDF:
        assert len(PdfReader(io.BytesIO(sample.content)).pages) == 1
    if kind in (DocumentKind.ORU, DocumentKind.MDM, DocumentKind.DFT):
        assert message_control_id(sample.content).startswith("TEST")
    if kind == DocumentKind.JSON:
        assert json.loads(sample.content)["Sample"] is True
