"""Portal pickup: sending only marks the result available, with no side effects."""
from delivery.transports import TransmissionStatus, transport_build
from delivery.transports.portal import PortalPickupTransport
from delivery.transports.send_test import transport_test


def test_send_returns_a_pending_pickup_receipt_without_side_effects(payload, tmp_path):
    before = sorted(tmp_path.rglob("*"))
    receipt = transport_build("portal", {}).send(payload)
    assert receipt.transmission_status == TransmissionStatus.PENDING_PICKUP
    assert receipt.delivery_type == "PortalPickup" and receipt.endpoint == "portal" and receipt.remote_id == "42"
    assert sorted(tmp_path.rglob("*")) == before
    assert PortalPickupTransport.delivered_on_send is False


def test_it_takes_no_configuration():
    assert PortalPickupTransport.validate_config({}) == {}


def test_send_test_button():
    outcome = transport_test("portal", {})
    assert outcome.success and "PendingPickup" in outcome.message
