"""The SMTP sending shared by Direct, the fax gateway and notifications: security modes."""
import pytest

from delivery.transports import TransportError
from delivery.transports.smtp import MailServer, smtp_send

from .servers import SmtpServer

MESSAGE = b"From: a@iris.test\r\nTo: b@clinic.test\r\nSubject: test\r\n\r\nhello\r\n"


def server_for(peer, ca, security, **changes):
    return MailServer(**{"host": "127.0.0.1", "port": peer.port, "security": security,
                         "ca_certificate": ca.cert_pem, "timeout": 10, **changes})


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # aiosmtpd cannot see implicit TLS
def test_implicit_tls_with_login(started, server_tls, ca):
    peer = started(SmtpServer(tls_context=server_tls, implicit_tls=True, login=("user", "pass")))
    smtp_send(server_for(peer, ca, "tls", username="user", password="pass"), sender="a@iris.test",
              recipients=["b@clinic.test"], message=MESSAGE)
    (received,) = peer.wait_for(1)
    assert received.recipients == ["b@clinic.test"] and peer.tls_sessions == 1


def test_starttls_and_plain(started, server_tls, ca):
    secure = started(SmtpServer(tls_context=server_tls, require_starttls=True))
    plain = started(SmtpServer())
    smtp_send(server_for(secure, ca, "starttls"), sender="a@iris.test", recipients=["b@clinic.test"],
              message=MESSAGE)
    smtp_send(server_for(plain, ca, "none"), sender="a@iris.test", recipients=["b@clinic.test"], message=MESSAGE)
    assert secure.tls_sessions == 1 and len(plain.wait_for(1)) == 1 and plain.tls_sessions == 0


def test_plain_connection_to_a_tls_port_fails_without_hanging(started, server_tls, ca):
    peer = started(SmtpServer(tls_context=server_tls, implicit_tls=True))
    with pytest.raises(TransportError) as failure:
        smtp_send(server_for(peer, ca, "none", timeout=2), sender="a@iris.test", recipients=["b@clinic.test"],
                  message=MESSAGE)
    assert not failure.value.permanent  # a timeout or a closed connection: retried, bounded by the service


def test_relaying_denied_is_permanent(started, ca):
    peer = started(SmtpServer(refuse_recipients={"b@clinic.test": "553 5.7.1 relaying denied"}))
    with pytest.raises(TransportError) as failure:
        smtp_send(server_for(peer, ca, "none"), sender="a@iris.test", recipients=["b@clinic.test"], message=MESSAGE)
    assert failure.value.permanent and "553" in failure.value.message


def test_a_login_the_server_does_not_offer_is_permanent(smtp_server, ca):
    with pytest.raises(TransportError, match="does not offer a login") as failure:
        smtp_send(server_for(smtp_server, ca, "none", username="user", password="pass"), sender="a@iris.test",
                  recipients=["b@clinic.test"], message=MESSAGE)
    assert failure.value.permanent
