"""Notification email: the signed result link to organization contacts, no PHI, against aiosmtpd."""
import pytest

from delivery.transports import ConfigError, Contacts, TransportError, transport_build
from delivery.transports.notification import NotificationTransport
from delivery.transports.send_test import transport_test

from .conftest import PATIENT_DOB, PATIENT_FIRST, PATIENT_LAST, make_payload
from .servers import SmtpServer, free_port

CONTACTS = ["lead@clinic.test", "frontdesk@clinic.test"]
LINK = "https://portal.iris.test/delivery/r/eyJyIjo3LCJvIjo0NzExfQ:1tX9:signature/"


def config(server, **changes):
    return {"smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "none",
            "recipients": "\n".join(CONTACTS), "from_address": "portal@iris.test", **changes}


@pytest.fixture
def payload():
    return make_payload(result_link=LINK)


def test_contacts_get_the_link_and_no_phi(smtp_server, payload):
    receipt = transport_build("notification", config(smtp_server)).send(payload)

    (received,) = smtp_server.wait_for(1)
    assert received.recipients == CONTACTS
    raw = received.content.decode()
    for phi in (PATIENT_FIRST, PATIENT_LAST, PATIENT_DOB, payload.patient_local_id, payload.order_local_id):
        assert phi not in raw
    assert received.message.get_content_type() == "text/plain"
    assert not list(received.message.iter_attachments())
    assert LINK in received.message.get_content()
    assert receipt.endpoint == ", ".join(CONTACTS) and receipt.delivery_type == "Email"


def test_no_link_is_permanent(smtp_server):
    with pytest.raises(TransportError, match="no link to send") as failure:
        transport_build("notification", config(smtp_server)).send(make_payload())
    assert failure.value.permanent and smtp_server.messages == []


def test_without_contacts_the_orders_email_is_used(smtp_server):
    transport = transport_build("notification", config(smtp_server, recipients=[]))
    transport.send(make_payload(recipient=Contacts(email="pcp@practice.test"), result_link=LINK))
    assert smtp_server.wait_for(1)[0].recipients == ["pcp@practice.test"]


def test_one_refused_contact_does_not_fail_the_others(started):
    server = started(SmtpServer(refuse_recipients={"frontdesk@clinic.test": "550 5.1.1 mailbox unknown"}))
    receipt = transport_build("notification", config(server)).send(make_payload(result_link=LINK))
    assert server.wait_for(1)[0].recipients == ["lead@clinic.test"]
    assert receipt.endpoint == "lead@clinic.test" and "frontdesk@clinic.test" in receipt.detail


def test_mail_server_trouble_is_transient_then_succeeds(started):
    server = started(SmtpServer(data_replies=("421 4.7.0 too many connections",)))
    transport = transport_build("notification", config(server))
    with pytest.raises(TransportError) as failure:
        transport.send(make_payload(result_link=LINK))
    assert not failure.value.permanent
    transport.send(make_payload(result_link=LINK))
    assert len(server.wait_for(1)) == 1


def test_mail_server_down_is_transient():
    endpoint = {**config(SmtpServer()), "smtp_port": free_port()}
    with pytest.raises(TransportError) as failure:
        transport_build("notification", endpoint).send(make_payload(result_link=LINK))
    assert not failure.value.permanent


def test_all_contacts_refused_is_permanent(started):
    server = started(SmtpServer(refuse_recipients={address: "550 5.1.1 mailbox unknown" for address in CONTACTS}))
    with pytest.raises(TransportError) as failure:
        transport_build("notification", config(server)).send(make_payload(result_link=LINK))
    assert failure.value.permanent


def test_no_address_at_all_is_permanent(smtp_server):
    with pytest.raises(TransportError, match="there is no email address") as failure:
        transport_build("notification", config(smtp_server, recipients=[])).send(make_payload(result_link=LINK))
    assert failure.value.permanent


def test_the_portals_own_mail_server_is_the_default(smtp_server, settings, payload):
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.DEFAULT_FROM_EMAIL = "noreply@portal.test"
    transport_build("notification", {"recipients": ["lead@clinic.test"]}).send(payload)
    (received,) = smtp_server.wait_for(1)
    assert received.sender == "noreply@portal.test"
    assert LINK in received.message.get_content()


def test_configuration_errors_name_the_field(smtp_server):
    with pytest.raises(ConfigError) as failure:
        NotificationTransport.validate_config(config(smtp_server, recipients="ok@clinic.test, broken@",
                                                     from_address="nobody"))
    assert set(failure.value.errors) == {"recipients", "from_address"}
    assert "'broken@' is not a valid email address" in failure.value.errors["recipients"]


def test_send_test_button(smtp_server):
    outcome = transport_test("notification", config(smtp_server))
    assert outcome.success, outcome.message
    (received,) = smtp_server.wait_for(1)
    assert received.recipients == CONTACTS and "http" in received.message.get_content()
