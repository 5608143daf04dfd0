"""PCP copy: Direct, else fax, else a notification link, chosen by what the order gives for the PCP."""
import pytest
from cryptography.hazmat.primitives.serialization import pkcs7

from delivery.transports import ConfigError, Contacts, DocumentKind, TransportError, transport_build
from delivery.transports.pcp import PcpCopyTransport
from delivery.transports.send_test import transport_test

from .conftest import PATIENT_LAST, make_payload
from .servers import SmtpServer

SENDER, PCP_DIRECT = "results@direct.iris.test", "pcp@direct.practice.test"


@pytest.fixture(scope="module")
def certs(ca):
    return {"sender": ca.issue(email=SENDER), "pcp": ca.issue(email=PCP_DIRECT)}


def config(server, ca, certs, channels=("direct", "fax", "email")):
    smtp = {"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none"}
    every = {
        "direct": {**smtp, "from_address": SENDER, "signing_certificate": certs["sender"].cert_pem,
                   "signing_key": certs["sender"].key_pem, "recipient_certificates": certs["pcp"].cert_pem},
        "fax": {**smtp, "address_pattern": "{fax}@fax.example.com"},
        "email": smtp,
    }
    return {name: every[name] for name in channels}


ALL = Contacts(direct_address=PCP_DIRECT, fax="555-555-0100", email="pcp@practice.test")


def test_direct_is_preferred(smtp_server, ca, certs):
    transport = transport_build("pcp_copy", config(smtp_server, ca, certs))
    assert transport.payload_kind(DocumentKind.PDF, ALL) == DocumentKind.CDA
    receipt = transport.send(make_payload(recipient=ALL, content_type="application/xml",
                                          document_kind=DocumentKind.CDA))
    (received,) = smtp_server.wait_for(1)
    assert received.recipients == [PCP_DIRECT] and receipt.endpoint == f"PCP {PCP_DIRECT}"
    assert pkcs7.pkcs7_decrypt_smime(received.content, certs["pcp"].certificate, certs["pcp"].key, [])
    assert receipt.delivery_type == "DirectMessaging"


def test_fax_when_the_pcp_has_no_direct_address(smtp_server, ca, certs):
    contacts = Contacts(fax="555-555-0100", email="pcp@practice.test")
    transport = transport_build("pcp_copy", config(smtp_server, ca, certs))
    assert transport.payload_kind(DocumentKind.CDA, contacts) == DocumentKind.PDF
    receipt = transport.send(make_payload(recipient=contacts))
    assert smtp_server.wait_for(1)[0].recipients == ["15555550100@fax.example.com"]
    assert receipt.endpoint == "PCP fax:15555550100"


def test_email_is_a_link_without_phi(smtp_server, ca, certs):
    transport = transport_build("pcp_copy", config(smtp_server, ca, certs))
    link = "https://portal.iris.test/delivery/r/signed-token/"
    transport.send(make_payload(recipient=Contacts(email="pcp@practice.test"), result_link=link))
    (received,) = smtp_server.wait_for(1)
    assert received.recipients == ["pcp@practice.test"]
    assert PATIENT_LAST.encode() not in received.content and link in received.message.get_content()


def test_transient_failure_then_success(ca, certs, started):
    server = started(SmtpServer(data_replies=("451 4.3.0 later",)))
    transport = transport_build("pcp_copy", config(server, ca, certs, channels=("fax",)))
    with pytest.raises(TransportError) as failure:
        transport.send(make_payload(recipient=ALL))
    assert not failure.value.permanent
    transport.send(make_payload(recipient=ALL))
    assert len(server.wait_for(1)) == 1


def test_a_pcp_without_a_usable_contact_is_permanent(smtp_server, ca, certs):
    transport = transport_build("pcp_copy", config(smtp_server, ca, certs, channels=("direct", "fax")))
    with pytest.raises(TransportError) as failure:
        transport.send(make_payload(recipient=Contacts(email="pcp@practice.test")))
    assert failure.value.permanent
    assert failure.value.message == "the order gives no Direct address / fax number for the PCP"


def test_configuration_errors_are_named_by_channel(smtp_server, ca, certs):
    broken = config(smtp_server, ca, certs)
    broken["direct"]["signing_key"] = "garbage"
    broken["fax"]["fax_number"] = "5555550100"
    with pytest.raises(ConfigError) as failure:
        PcpCopyTransport.validate_config(broken)
    assert set(failure.value.errors) == {"direct.signing_key", "fax.fax_number"}
    with pytest.raises(ConfigError) as failure:
        PcpCopyTransport.validate_config({})
    assert failure.value.errors == {"": "configure at least one way to reach the PCP: direct, fax or email"}


def test_cleaned_configuration_has_each_channel_cleaned(smtp_server, ca, certs):
    cleaned = PcpCopyTransport.validate_config(config(smtp_server, ca, certs, channels=("fax",)))
    assert cleaned["fax"]["method"] == "email" and cleaned["direct"] is None


def test_send_test_button(smtp_server, ca, certs):
    outcome = transport_test("pcp_copy", config(smtp_server, ca, certs), recipient=Contacts(fax="5555550100"))
    assert outcome.success, outcome.message
    (received,) = smtp_server.wait_for(1)
    assert next(received.message.iter_attachments()).get_content()[:5] == b"%PDF-"  # fax got the PDF sample
