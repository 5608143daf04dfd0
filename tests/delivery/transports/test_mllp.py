"""HL7 over MLLP: the adapter over iris_portal.hl7_mllp_client against a real MLLP peer."""
import pytest

from delivery.transports import ConfigError, DocumentKind, TransportError, transport_build
from delivery.transports.mllp import MllpTransport
from delivery.transports.samples import sample_payload
from delivery.transports.send_test import transport_test

from .conftest import make_payload
from .servers import MllpPeer, free_port


def config(port, **changes):
    return {"host": "127.0.0.1", "port": port, "response_timeout": 5, **changes}


@pytest.fixture
def peer(started):
    return started(MllpPeer())


def test_messages_are_acknowledged_over_one_connection(peer):
    first, second = sample_payload(DocumentKind.ORU), sample_payload(DocumentKind.ORU)
    with transport_build("mllp", config(peer.port)) as transport:
        receipt = transport.send(first)
        transport.send(second)
    assert peer.messages == [first.content, second.content] and peer.connections == 1
    assert receipt.remote_id == first.content.split(b"|")[9].decode()
    assert receipt.detail == "ACK AA" and receipt.delivery_type == "HL7"


def test_lost_ack_is_transient_then_succeeds(started):
    peer = started(MllpPeer(script=("close",)))
    transport = transport_build("mllp", config(peer.port))
    with pytest.raises(TransportError) as failure:
        transport.send(sample_payload(DocumentKind.ORU))
    assert not failure.value.permanent
    transport.send(sample_payload(DocumentKind.ORU))
    assert len(peer.messages) == 2


def test_negative_ack_ar_is_transient_and_ae_permanent(started):
    peer = started(MllpPeer(script=("AR", "AE")))
    transport = transport_build("mllp", config(peer.port))
    with pytest.raises(TransportError) as transient:
        transport.send(sample_payload(DocumentKind.MDM))
    assert not transient.value.permanent and "AR" in transient.value.message
    with pytest.raises(TransportError) as permanent:
        transport.send(sample_payload(DocumentKind.MDM))
    assert permanent.value.permanent and "AE" in permanent.value.message


def test_dft_is_never_resent_after_it_may_have_arrived(started):
    peer = started(MllpPeer(script=("close",)))
    with pytest.raises(TransportError) as failure:
        transport_build("mllp", config(peer.port)).send(sample_payload(DocumentKind.DFT))
    assert failure.value.permanent and "at most once" in failure.value.message
    assert len(peer.messages) == 1


def test_receiver_down_is_transient():
    with pytest.raises(TransportError) as failure:
        transport_build("mllp", config(free_port())).send(sample_payload(DocumentKind.ORU))
    assert not failure.value.permanent


def test_not_an_hl7_message_is_permanent(peer):
    with pytest.raises(TransportError) as failure:
        transport_build("mllp", config(peer.port)).send(make_payload())
    assert failure.value.permanent and "not a sendable HL7 message" in failure.value.message
    assert peer.messages == []


def test_configuration_errors_name_the_field():
    with pytest.raises(ConfigError) as failure:
        MllpTransport.validate_config({"host": "127.0.0.1"})
    assert failure.value.errors == {"port": "this field is required"}


def test_send_test_button(peer):
    outcome = transport_test("mllp", config(peer.port))
    assert outcome.success, outcome.message
    (message,) = peer.messages
    assert message.split(b"|")[10] == b"T"  # MSH-11: a test message
