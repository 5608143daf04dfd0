"""Portal pickup (BasicIntegrations.md "Order Manager Application"): no network.

``send()`` only says the result is available; it has no side effects, so the delivery service
handles pickup like any other transport. The delivery then stays pending until organization users
download the pending results as one zip (a view of the delivery app), which marks them retrieved.
"""
from __future__ import annotations

from .base import DeliveryPayload, DeliveryReceipt, TransmissionStatus, Transport


class PortalPickupTransport(Transport):
    kind = "portal"
    label = "Portal pickup"
    delivery_type = "PortalPickup"
    delivered_on_send = False

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        return self.receipt("portal", remote_id=payload.delivery_key,
                            status=TransmissionStatus.PENDING_PICKUP,
                            detail="available in the portal until downloaded")
