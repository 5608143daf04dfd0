"""Fixtures for the transport tests: a payload with patient data, and the peers of servers.py."""
from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import replace

import pytest

from delivery.transports.base import Contacts, DeliveryPayload, DocumentKind

from .pki import TestCA
from .servers import SftpServer, SmtpServer

PATIENT_FIRST, PATIENT_LAST, PATIENT_DOB = "Ana", "O'Brien", "1961-02-03"
# A PDF-like document that carries PHI, so tests can assert where it must not appear.
DOCUMENT = f"%PDF-1.4 report for {PATIENT_FIRST} {PATIENT_LAST}, DOB {PATIENT_DOB}\n%%EOF\n".encode()


def make_payload(**changes) -> DeliveryPayload:
    payload = DeliveryPayload(
        file_name="P0112X00123.pdf", content=DOCUMENT, content_type="application/pdf",
        document_kind=DocumentKind.PDF, order_id=4711, order_local_id="P0112X00123", patient_id=815,
        patient_local_id="MRN-77", patient_first_name=PATIENT_FIRST, patient_last_name=PATIENT_LAST,
        organization_id=3, client_guid="63E3C9EF-66AC-4154-B0C2-494515EB99A7", site_id=5,
        site_local_id="HarborviewClinic", department_local_id="EYE", result_code="F",
        recipient=Contacts(), reference_time=dt.datetime(2024, 9, 1, 9, 4, 21, tzinfo=dt.UTC), delivery_key="42",
    )
    return replace(payload, **changes)


@pytest.fixture
def payload() -> DeliveryPayload:
    return make_payload()


@pytest.fixture(scope="session")
def ca() -> TestCA:
    return TestCA()


@pytest.fixture(scope="session")
def server_tls(ca, tmp_path_factory) -> ssl.SSLContext:
    """TLS context of a mail server whose certificate (for 127.0.0.1) the test CA issued."""
    issued = ca.issue(ip="127.0.0.1", server=True)
    folder = tmp_path_factory.mktemp("tls")
    (folder / "cert.pem").write_text(issued.cert_pem)
    (folder / "key.pem").write_text(issued.key_pem)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(folder / "cert.pem", folder / "key.pem")
    return context


@pytest.fixture
def started():
    """``started(SomePeer(...))`` starts a peer of servers.py and shuts it down after the test."""
    peers = []

    def start(peer):
        peers.append(peer)
        return peer.start()

    yield start
    for peer in reversed(peers):
        peer.shutdown()


@pytest.fixture
def smtp_server(started):
    """A plain SMTP server (no TLS, no login)."""
    return started(SmtpServer())


@pytest.fixture
def sftp_root(tmp_path):
    root = tmp_path / "sftp-root"
    (root / "upload").mkdir(parents=True)
    (root / "locked").mkdir()
    return root


@pytest.fixture
def sftp_server(sftp_root, started):
    return started(SftpServer(sftp_root, read_only=("locked",)))
