"""Real MLLP peers on 127.0.0.1 for the HL7 tests: our listener in a background event loop, a
raw socket sender for malformed traffic, and the demo organization's HL7 interface for the
published ORM examples (sender ACME / "Overlook Hotel" or "Test Hospital")."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from contextlib import contextmanager

import pytest

from iris_portal.hl7_mllp_client import Ack, MLLPDecoder, ack_parse, mllp_wrap
from orders.intake.hl7.listener import HL7Listener
from organizations.models import HL7Interface, HL7SiteMapping
from tests.factories import SiteFactory
from tests.orders.helpers import fixture_text

FIXTURE_SITE = "IRIS-TEST"  # PV1-3.1 "IrisTest" in orm-1 is mapped to it; orm-2's "109" is a site's own id


def fixture_message(name: str) -> str:
    """A published example as sent on the wire (segments separated by CR)."""
    return fixture_text(name).strip().replace("\n", "\r")


def orm(*, control_id: str = "MSG-1", order_id: str = "ORD-1", mrn: str = "MRN-1", facility: str = "DEMOHEALTH",
        control: str = "NW", site: str = "PC1234", name: str = "Lovelace^Ada", dob: str = "19551210",
        provider: str = "1234567893^Reader^Grace^^^^^^^^^^NPI", extra: str = "", ssn: str = "123-45-6789") -> str:
    """A small valid ORM^O01 for the demo organization."""
    return "\r".join([
        f"MSH|^~\\&|EPIC|{facility}||IRIS|20250101120000||ORM^O01|{control_id}|P|2.4",
        f"PID|1|{mrn}^^^^MR|||{name}||{dob}|F|||1 Main St^^Tampa^FL^33601||(813)555-0100|||M||ENC-{order_id}|{ssn}",
        f"PV1||O|{site}",
        f"ORC|{control}|{order_id}^EPIC|||||||20250102083000|HJ123^HOPKINS^JOHN||{provider}",
        "OBR|1|{0}^EPIC||92250^FUNDUS PHOTOGRAPHY||20250102".format(order_id),
        "DG1|1|I10|E11.9^Type 2 diabetes mellitus without complications^I10|Type 2 diabetes",
    ]) + extra


@pytest.fixture
def hl7_org(demo):
    """Demo Health accepting the published examples' sender, with sites for both."""
    site = SiteFactory(organization=demo, local_id=FIXTURE_SITE, state="FL")
    SiteFactory(organization=demo, local_id="109", state="FL")
    interface = HL7Interface.objects.create(organization=demo, name="ACME feed", sending_applications=["ACME"],
                                            sending_facilities=["Overlook Hotel", "Test Hospital"])
    HL7SiteMapping.objects.create(interface=interface, code="IrisTest", site=site)
    return demo


class ListenerThread:
    """An HL7Listener serving from its own event loop in a daemon thread."""

    def __init__(self, **options):
        options.setdefault("config_max_age", 0)
        self.loop = asyncio.new_event_loop()
        self.listener = HL7Listener(host="127.0.0.1", port=0, **options)
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def start(self) -> ListenerThread:
        self._thread.start()
        self.address = asyncio.run_coroutine_threadsafe(self.listener.start(), self.loop).result(10)
        return self

    def stop(self, grace: float = 10.0) -> None:
        asyncio.run_coroutine_threadsafe(self.listener.stop(grace=grace), self.loop).result(grace + 30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    @property
    def port(self) -> int:
        return self.address[1]


@contextmanager
def running_listener(**options):
    peer = ListenerThread(**options).start()
    try:
        yield peer
    finally:
        peer.stop()


@pytest.fixture
def listener(transactional_db):
    """Our listener on an ephemeral port; it reads committed data, hence transactional_db. It
    re-reads the interface settings for every message, so tests may change them at any time."""
    with running_listener(workers=4, config_max_age=0) as peer:
        yield peer


def exchange(port: int, data: bytes, *, expect: int = 1, half_close: bool = False, timeout: float = 20.0) -> list[Ack]:
    """Send raw bytes, return the ACKs read (``expect`` of them, or fewer if the peer closes)."""
    acks = []
    decoder = MLLPDecoder()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        deadline = time.monotonic() + timeout
        while len(acks) < expect and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            acks.extend(ack_parse(frame.payload) for frame in decoder.feed(chunk))
    return acks


def send_one(port: int, message: str | bytes, **kwargs) -> Ack:
    data = message.encode() if isinstance(message, str) else message
    acks = exchange(port, mllp_wrap(data), **kwargs)
    assert len(acks) == 1, f"expected one ACK, got {acks}"
    return acks[0]
