"""Fax: the email-to-fax gateway against aiosmtpd, the HTTP API against a fake vendor (the one
allowed fake: a third party's service)."""
import base64

import pytest

from delivery.transports import ConfigError, Contacts, TransmissionStatus, TransportError, transport_build
from delivery.transports.fax import FaxTransport, fax_number_normalize
from delivery.transports.send_test import transport_test

from .conftest import DOCUMENT, make_payload
from .servers import FaxVendor, SmtpServer, free_port


def gateway_config(server, **changes):
    return {"method": "email", "smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none",
            "address_pattern": "{fax}@fax.example.com", "from_address": "fax@iris.test", **changes}


def api_config(vendor, **changes):
    return {"method": "http_api", "api_url": vendor.url, "api_token": vendor.token, **changes}


@pytest.fixture
def vendor(started):
    return started(FaxVendor())


@pytest.mark.parametrize("raw, full, national", [
    ("(555) 555-0100", "15555550100", "5555550100"),
    ("555.555.0100", "15555550100", "5555550100"),
    ("1-555-555-0100", "15555550100", "5555550100"),
    ("+1 555 555 0100", "15555550100", "5555550100"),
    ("+44 20 7946 0958", "442079460958", "442079460958"),
])
def test_numbers_are_normalized_to_digits(raw, full, national):
    assert fax_number_normalize(raw) == full
    assert fax_number_normalize(raw, include_country_code=False) == national


@pytest.mark.parametrize("raw, message", [
    ("", "there is no fax number"),
    ("call me", "is not a fax number"),
    ("555-01", "not a valid fax number"),
    ("+1234567890123456", "not a valid fax number"),
])
def test_bad_numbers_are_refused(raw, message):
    with pytest.raises(ValueError, match=message):
        fax_number_normalize(raw)


def test_gateway_gets_the_pdf_for_the_normalized_number(smtp_server):
    payload = make_payload(recipient=Contacts(fax="(555) 555-0100"))

    receipt = transport_build("fax", gateway_config(smtp_server)).send(payload)

    (received,) = smtp_server.wait_for(1)
    assert received.recipients == ["15555550100@fax.example.com"] and received.sender == "fax@iris.test"
    (attachment,) = list(received.message.iter_attachments())
    assert attachment.get_content_type() == "application/pdf" and attachment.get_content() == DOCUMENT
    assert receipt.endpoint == "fax:15555550100" and receipt.transmission_status == TransmissionStatus.QUEUED
    assert received.message["Subject"] == "Fax from IRIS Portal"


def test_a_fixed_number_wins_over_the_orders(smtp_server):
    endpoint = gateway_config(smtp_server, fax_number="555 555 0199", include_country_code=False)
    transport_build("fax", endpoint).send(make_payload(recipient=Contacts(fax="555 555 0100")))
    assert smtp_server.wait_for(1)[0].recipients == ["5555550199@fax.example.com"]


def test_gateway_busy_is_transient_then_succeeds(started):
    server = started(SmtpServer(data_replies=("452 4.3.1 insufficient system storage",)))
    transport = transport_build("fax", gateway_config(server, fax_number="5555550100"))
    with pytest.raises(TransportError) as failure:
        transport.send(make_payload())
    assert not failure.value.permanent
    transport.send(make_payload())
    assert len(server.wait_for(1)) == 1


def test_gateway_down_is_transient():
    endpoint = {**gateway_config(SmtpServer(), fax_number="5555550100"), "smtp_port": free_port()}
    with pytest.raises(TransportError) as failure:
        transport_build("fax", endpoint).send(make_payload())
    assert not failure.value.permanent


def test_gateway_refusing_the_number_is_permanent(started):
    server = started(SmtpServer(refuse_recipients={"15555550100@fax.example.com": "550 5.1.1 unknown fax number"}))
    with pytest.raises(TransportError) as failure:
        transport_build("fax", gateway_config(server, fax_number="5555550100")).send(make_payload())
    assert failure.value.permanent and "550" in failure.value.message


def test_no_or_bad_number_and_non_pdf_payloads_are_permanent(smtp_server):
    transport = transport_build("fax", gateway_config(smtp_server))
    for payload, message in [
        (make_payload(), "there is no fax number"),
        (make_payload(recipient=Contacts(fax="12")), "not a valid fax number"),
        (make_payload(recipient=Contacts(fax="5555550100"), content_type="text/html"), "needs the PDF"),
    ]:
        with pytest.raises(TransportError, match=message) as failure:
            transport.send(payload)
        assert failure.value.permanent
    assert smtp_server.messages == []


def test_http_api_submits_the_pdf(vendor):
    receipt = transport_build("fax", api_config(vendor)).send(make_payload(recipient=Contacts(fax="555-555-0100")))

    (request,) = vendor.requests
    assert request["json"]["to"] == "+15555550100"
    assert base64.b64decode(request["json"]["content_base64"]) == DOCUMENT
    assert request["headers"]["Idempotency-Key"] == "42"
    assert receipt.remote_id == "fax-1" and receipt.transmission_status == TransmissionStatus.QUEUED


def test_http_api_outage_is_transient_then_succeeds(started):
    vendor = started(FaxVendor(script=((503, {"error": "maintenance"}), (429, {"error": "slow down"}))))
    transport = transport_build("fax", api_config(vendor, fax_number="5555550100"))
    for status in ("503", "429"):
        with pytest.raises(TransportError) as failure:
            transport.send(make_payload())
        assert not failure.value.permanent and status in failure.value.message
    assert transport.send(make_payload()).remote_id == "fax-3"


def test_http_api_rejections_are_permanent(started):
    vendor = started(FaxVendor(script=((422, {"error": "invalid number"}),)))
    transport = transport_build("fax", api_config(vendor, fax_number="5555550100"))
    with pytest.raises(TransportError) as failure:
        transport.send(make_payload())
    assert failure.value.permanent and "422" in failure.value.message and "invalid number" in failure.value.message

    with pytest.raises(TransportError) as failure:
        transport_build("fax", api_config(vendor, fax_number="5555550100", api_token="wrong")).send(make_payload())
    assert failure.value.permanent and "401" in failure.value.message


def test_http_api_unreachable_is_transient():
    endpoint = {"method": "http_api", "api_url": f"http://127.0.0.1:{free_port()}/faxes",
                "fax_number": "5555550100"}
    with pytest.raises(TransportError) as failure:
        transport_build("fax", endpoint).send(make_payload())
    assert not failure.value.permanent and "refused the connection" in failure.value.message


@pytest.mark.parametrize("endpoint, field, message", [
    ({"method": "email"}, "address_pattern", "{fax} once"),
    ({"method": "email", "address_pattern": "fax.example.com"}, "address_pattern", "{fax} once"),
    ({"method": "email", "address_pattern": "{fax}@"}, "address_pattern", "not a valid email address"),
    ({"method": "http_api"}, "api_url", "fax service's URL"),
    ({"method": "email", "address_pattern": "{fax}@f.test", "fax_number": "abc"}, "fax_number",
     "not a fax number"),
    ({"method": "carrier pigeon"}, "method", "'email' or 'http_api'"),
    ({"method": "email", "address_pattern": "{fax}@f.test", "country_code": "+1"}, "country_code", "pattern"),
])
def test_configuration_errors_name_the_field(endpoint, field, message):
    with pytest.raises(ConfigError) as failure:
        FaxTransport.validate_config(endpoint)
    assert message in failure.value.errors[field]


def test_send_test_button(smtp_server, vendor):
    outcome = transport_test("fax", gateway_config(smtp_server, fax_number="5555550100"))
    assert outcome.success, outcome.message
    (received,) = smtp_server.wait_for(1)
    assert next(received.message.iter_attachments()).get_content()[:5] == b"%PDF-"

    outcome = transport_test("fax", api_config(vendor), recipient=Contacts(fax="5555550100"))
    assert outcome.success and "Queued" in outcome.message

    failed = transport_test("fax", api_config(vendor, fax_number="5555550100", api_token="wrong"))
    assert not failed.success and failed.permanent and "401" in failed.message
