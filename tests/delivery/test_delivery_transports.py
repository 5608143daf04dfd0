"""Each transport kind through the delivery service against its real peer on 127.0.0.1 (the
servers of tests/delivery/transports/servers.py): success, a temporary failure then success, and
a permanent failure that gives up; receipts emitted except for the Cloud Direct stream."""
import os

import pytest
import redis

from delivery.models import AttemptOutcome, DeliveryState
from delivery.services import deliveries_create, delivery_resend, delivery_send
from orders.intake.clouddirect.broker import stream_keys
from orders.models import OrderEvent

from .delivery_setup import due_now, endpoint_make, result_set_make
from .transports.conftest import sftp_root, sftp_server, smtp_server, started  # noqa: F401 - fixtures
from .transports.conftest import ca, server_tls  # noqa: F401 - fixtures
from .transports.servers import MllpPeer, SmtpServer, free_port
from .transports.test_direct import RECIPIENT, certs, hisp, hisp_with, openssl_decrypt, openssl_verify  # noqa: F401
from .transports.test_direct import config as direct_config

pytestmark = pytest.mark.django_db
REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/10"


@pytest.fixture
def result_set():
    return result_set_make(local_id="ORD-200", pcp_fax="555-555-0100", pcp_email="pcp@clinic.example")


def send(delivery):
    outcome = delivery_send(delivery_id=due_now(delivery).pk)
    delivery.refresh_from_db()
    return outcome


def receipt_types(order):
    return [e.payload["DeliveryType"] for e in OrderEvent.objects.filter(order=order,
                                                                          event_type="ResultsDeliveryReceipt")]


def outcomes(delivery):
    return [a.outcome for a in delivery.attempt_log.all()]


# --- SFTP ------------------------------------------------------------------------------------

def sftp_config(server, **changes):
    return {"host": "127.0.0.1", "port": server.port, "username": "iris", "password": "s3cret",
            "host_key": server.host_key_line, "directory": "/upload", "file_name_template": "{orderLocalId}.pdf",
            **changes}


def test_sftp_delivers_the_pdf(result_set, sftp_server, sftp_root):
    endpoint_make(result_set.organization, "sftp", sftp_config(sftp_server))
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.DELIVERED
    assert (sftp_root / "upload" / "ORD-200.pdf").read_bytes().startswith(b"%PDF")
    assert receipt_types(result_set.order) == ["SFTP"]


def test_sftp_down_is_retried_then_delivered(result_set, sftp_server, sftp_root):
    endpoint_make(result_set.organization, "sftp", sftp_config(sftp_server))
    [delivery] = deliveries_create(result_set=result_set)
    port = sftp_server.port
    sftp_server.stop()
    assert send(delivery).state == DeliveryState.FAILED
    sftp_server.start(port)
    assert send(delivery).state == DeliveryState.DELIVERED
    assert outcomes(delivery) == [AttemptOutcome.TRANSIENT, AttemptOutcome.SUCCESS]
    assert [p.name for p in (sftp_root / "upload").iterdir()] == ["ORD-200.pdf"]


def test_sftp_wrong_password_gives_up_at_once(result_set, sftp_server):
    endpoint_make(result_set.organization, "sftp", sftp_config(sftp_server, password="wrong"))
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.GIVEN_UP
    assert outcomes(delivery) == [AttemptOutcome.PERMANENT] and "refused the login" in delivery.last_error
    assert receipt_types(result_set.order) == []


# --- Notification email and fax gateway (SMTP) -------------------------------------------------

def smtp_fields(server, port=None):
    return {"smtp_host": "127.0.0.1", "smtp_port": port or server.port, "smtp_security": "none"}


def test_notification_email_carries_a_link_and_no_phi(result_set, smtp_server):
    endpoint_make(result_set.organization, "notification",
                  {"recipients": "front-desk@clinic.example", **smtp_fields(smtp_server)})
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.DELIVERED
    [mail] = smtp_server.wait_for(1)
    body = mail.message.get_body(("plain",)).get_content()
    assert "/delivery/r/" in body
    patient = result_set.order.patient
    for phi in (patient.first_name, patient.last_name, patient.local_id, "ORD-200"):
        assert phi not in mail.content.decode(errors="replace")
    assert receipt_types(result_set.order) == ["Email"]


def test_notification_server_down_then_up(result_set):
    port = free_port()
    endpoint_make(result_set.organization, "notification",
                  {"recipients": "front-desk@clinic.example", **smtp_fields(None, port)})
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.FAILED
    server = SmtpServer().start(port)
    try:
        assert send(delivery).state == DeliveryState.DELIVERED
        assert len(server.wait_for(1)) == 1
    finally:
        server.shutdown()


def test_fax_gateway_refusing_the_number_gives_up(result_set, started):
    server = started(SmtpServer(refuse_recipients={"15555550100@fax.example.com": "550 5.1.1 no such fax"}))
    endpoint_make(result_set.organization, "fax", {"address_pattern": "{fax}@fax.example.com",
                                                   "from_address": "fax@iris.test", **smtp_fields(server)})
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.GIVEN_UP
    assert outcomes(delivery) == [AttemptOutcome.PERMANENT]


def test_fax_gateway_busy_then_faxes_the_orders_pcp_number(result_set, started):
    server = started(SmtpServer(data_replies=("451 4.3.0 try again later",)))
    endpoint_make(result_set.organization, "fax", {"address_pattern": "{fax}@fax.example.com",
                                                   "from_address": "fax@iris.test", **smtp_fields(server)})
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.FAILED
    assert send(delivery).state == DeliveryState.DELIVERED
    [mail] = server.wait_for(1)
    assert mail.recipients == ["15555550100@fax.example.com"]
    assert receipt_types(result_set.order) == ["Fax"]


# --- Cloud Direct results stream ---------------------------------------------------------------

@pytest.fixture
def broker(settings, result_set):
    settings.IRIS_CLOUDDIRECT_REDIS_URL = REDIS_URL
    client = redis.Redis.from_url(REDIS_URL)
    key = stream_keys(str(result_set.organization.client_guid).upper()).results
    client.delete(key)
    yield client, key
    client.delete(key)
    client.close()


def test_clouddirect_stream_gets_the_json_and_no_receipt_is_emitted(result_set, broker):
    client, key = broker
    endpoint_make(result_set.organization, "clouddirect", payload_kind="json")
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.DELIVERED
    [(entry_id, fields)] = client.xrange(key)
    assert delivery.remote_id == entry_id.decode()
    assert receipt_types(result_set.order) == []


def test_clouddirect_broker_down_then_up(result_set, broker, settings):
    client, key = broker
    settings.IRIS_CLOUDDIRECT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    endpoint_make(result_set.organization, "clouddirect", payload_kind="json")
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.FAILED
    settings.IRIS_CLOUDDIRECT_REDIS_URL = REDIS_URL
    assert send(delivery).state == DeliveryState.DELIVERED
    assert client.xlen(key) == 1


def test_clouddirect_with_a_pdf_payload_is_permanent(result_set, broker):
    endpoint_make(result_set.organization, "clouddirect", payload_kind="pdf")
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.GIVEN_UP
    assert "JSON" in delivery.last_error


# --- Portal pickup -----------------------------------------------------------------------------

def test_portal_pickup_waits_as_pending_and_is_not_resent(result_set):
    endpoint_make(result_set.organization, "portal")
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.PENDING
    assert delivery.awaiting_pickup and delivery.next_attempt_at is None
    assert delivery_send(delivery_id=delivery.pk) is None  # waits for download, the sweeper leaves it
    assert receipt_types(result_set.order) == []


def test_a_missing_document_kind_is_permanent(result_set, tmp_path):
    endpoint_make(result_set.organization, "file", {"base_folder": str(tmp_path), "file_name_template": "{orderId}.hl7"},
                  payload_kind="oru")
    [delivery] = deliveries_create(result_set=result_set)
    result_set.documents.filter(kind="oru").delete()  # e.g. generated before the HL7 renderers existed
    assert send(delivery).state == DeliveryState.GIVEN_UP
    assert "no HL7 ORU^R01 document" in delivery.last_error


# --- HL7 over MLLP -----------------------------------------------------------------------------

def mllp_endpoint(result_set, peer, payload_kind="oru"):
    return endpoint_make(result_set.organization, "mllp", {"host": "127.0.0.1", "port": peer.port,
                                                           "response_timeout": 5}, payload_kind=payload_kind)


def test_mllp_oru_negative_ack_ar_is_retried_then_accepted(result_set, started):
    peer = started(MllpPeer(script=("AR",)))
    mllp_endpoint(result_set, peer)
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.FAILED
    assert send(delivery).state == DeliveryState.DELIVERED
    assert len(peer.messages) == 2 and peer.messages[0].startswith(b"MSH|") and b"ORU^R01" in peer.messages[0]
    assert outcomes(delivery) == [AttemptOutcome.TRANSIENT, AttemptOutcome.SUCCESS]
    assert receipt_types(result_set.order) == ["HL7"]


def test_mllp_ae_gives_up(result_set, started):
    peer = started(MllpPeer(script=("AE",)))
    mllp_endpoint(result_set, peer, "mdm")
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.GIVEN_UP and "AE" in delivery.last_error


def test_dft_without_ack_is_given_up_not_resent(result_set, started):
    peer = started(MllpPeer(script=("close",)))
    mllp_endpoint(result_set, peer, "dft")
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.GIVEN_UP
    assert len(peer.messages) == 1 and b"DFT^P03" in peer.messages[0]
    assert delivery_resend(delivery=delivery) is None  # the resend button refuses charges, too


# --- Direct secure messaging -------------------------------------------------------------------

def test_direct_sends_the_cda_signed_and_encrypted(result_set, hisp, ca, certs, tmp_path):
    endpoint_make(result_set.organization, "direct", direct_config(hisp, ca, certs), payload_kind="cda")
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.DELIVERED
    [received] = hisp.wait_for(1)
    assert received.recipients == [RECIPIENT]
    assert f"iris-delivery-{delivery.pk}@" in received.message["Message-ID"]
    signed = openssl_decrypt(received, certs["recipient"], tmp_path)
    assert openssl_verify(signed, ca, tmp_path).returncode == 0
    assert receipt_types(result_set.order) == ["DirectMessaging"]


def test_direct_hisp_down_then_up_and_unknown_recipient_gives_up(result_set, hisp_with, ca, certs):
    port = free_port()
    probe = SmtpServer()
    probe.port = port
    endpoint = endpoint_make(result_set.organization, "direct", direct_config(probe, ca, certs), payload_kind="cda")
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.FAILED
    refusing = hisp_with(refuse_recipients={RECIPIENT: "550 5.1.1 unknown Direct address"})
    endpoint.config = {**endpoint.config, "smtp_port": refusing.port}
    endpoint.save()
    assert send(delivery).state == DeliveryState.GIVEN_UP
    assert outcomes(delivery) == [AttemptOutcome.TRANSIENT, AttemptOutcome.PERMANENT]


# --- PCP copy ------------------------------------------------------------------------------------

def test_pcp_copy_reaches_the_orders_pcp_by_email_link(result_set, smtp_server):
    endpoint_make(result_set.organization, "pcp_copy", {"email": smtp_fields(smtp_server)})
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.DELIVERED
    [mail] = smtp_server.wait_for(1)
    assert mail.recipients == ["pcp@clinic.example"] and "/delivery/r/" in mail.content.decode()


def test_pcp_copy_without_a_pcp_contact_gives_up(smtp_server):
    result_set = result_set_make(local_id="ORD-NOPCP")
    endpoint_make(result_set.organization, "pcp_copy", {"email": smtp_fields(smtp_server)})
    [delivery] = deliveries_create(result_set=result_set)
    assert send(delivery).state == DeliveryState.GIVEN_UP and "email address" in delivery.last_error
