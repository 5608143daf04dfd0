"""Direct secure messaging against aiosmtpd (STARTTLS + AUTH), with the S/MIME checked by OpenSSL."""
import subprocess
from email import message_from_bytes, policy

import pytest
from cryptography.hazmat.primitives.serialization import pkcs7

from delivery.transports import (
    ConfigError,
    Contacts,
    DocumentKind,
    TransmissionStatus,
    TransportError,
    transport_build,
)
from delivery.transports.direct import SUBJECT, DirectTransport
from delivery.transports.send_test import transport_test

from .conftest import PATIENT_DOB, PATIENT_LAST, make_payload
from .pki import TestCA
from .servers import SmtpServer, free_port

SENDER = "results@direct.iris.test"
RECIPIENT = "dr.who@direct.clinic.test"
CDA = (b'<?xml version="1.0"?><ClinicalDocument xmlns="urn:hl7-org:v3">'
       b"<title>Ana O'Brien 1961-02-03</title></ClinicalDocument>")
LOGIN = ("hisp-user", "hisp-pass")


@pytest.fixture(scope="module")
def certs(ca):
    return {"sender": ca.issue(email=SENDER), "recipient": ca.issue(email=RECIPIENT),
            "clinic_domain": ca.issue(domain="hospital.test")}


@pytest.fixture
def hisp_with(started, server_tls):
    """A HISP's SMTP server: STARTTLS required, login required, plus the given options."""
    return lambda **options: started(SmtpServer(tls_context=server_tls, require_starttls=True, login=LOGIN,
                                                **options))


@pytest.fixture
def hisp(hisp_with):
    return hisp_with()


def config(server, ca, certs, **changes):
    return {
        "smtp_host": "127.0.0.1", "smtp_port": server.port, "smtp_security": "starttls",
        "smtp_username": LOGIN[0], "smtp_password": LOGIN[1], "smtp_ca_certificate": ca.cert_pem,
        "from_address": SENDER, "signing_certificate": certs["sender"].cert_pem,
        "signing_key": certs["sender"].key_pem,
        "recipient_certificates": certs["recipient"].cert_pem + certs["clinic_domain"].cert_pem,
        "to_address": RECIPIENT, **changes,
    }


def cda_payload(**changes):
    return make_payload(content=CDA, content_type="application/xml", document_kind=DocumentKind.CDA,
                        file_name="result.xml", **changes)


def openssl_verify(signed: bytes, ca, tmp_path) -> subprocess.CompletedProcess:
    (tmp_path / "ca.pem").write_text(ca.cert_pem)
    (tmp_path / "signed.eml").write_bytes(signed)
    return subprocess.run(["openssl", "smime", "-verify", "-CAfile", str(tmp_path / "ca.pem"),
                           "-in", str(tmp_path / "signed.eml")], capture_output=True, timeout=30)


def openssl_decrypt(received, recipient, tmp_path) -> bytes:
    """`openssl smime -decrypt` with the recipient's certificate and key: the signed entity."""
    (tmp_path / "recipient.pem").write_text(recipient.cert_pem)
    (tmp_path / "recipient.key").write_text(recipient.key_pem)
    (tmp_path / "received.eml").write_bytes(received.content)
    decrypt = subprocess.run(["openssl", "smime", "-decrypt", "-recip", str(tmp_path / "recipient.pem"),
                              "-inkey", str(tmp_path / "recipient.key"), "-in", str(tmp_path / "received.eml")],
                             capture_output=True, timeout=30)
    assert decrypt.returncode == 0, decrypt.stderr
    return decrypt.stdout


def open_message(received, recipient, tmp_path, ca) -> subprocess.CompletedProcess:
    """Decrypt with the recipient's key, then verify the signature with `openssl smime -verify`."""
    return openssl_verify(openssl_decrypt(received, recipient, tmp_path), ca, tmp_path)


def test_signed_and_encrypted_cda_reaches_the_direct_address(hisp, ca, certs, tmp_path):
    receipt = transport_build("direct", config(hisp, ca, certs)).send(cda_payload())

    (received,) = hisp.wait_for(1)
    assert received.recipients == [RECIPIENT] and received.sender == SENDER
    assert hisp.tls_sessions == 1  # STARTTLS was used
    outer = received.message
    assert outer["Subject"] == SUBJECT and outer.get_content_type() == "application/pkcs7-mime"
    assert outer["Message-ID"] == receipt.remote_id == "<iris-delivery-42@direct.iris.test>"
    assert PATIENT_LAST.encode() not in received.content and PATIENT_DOB.encode() not in received.content

    verify = open_message(received, certs["recipient"], tmp_path, ca)
    assert verify.returncode == 0 and b"Verification successful" in verify.stderr, verify.stderr
    inner = message_from_bytes(verify.stdout, policy=policy.default)
    (attachment,) = list(inner.iter_attachments())
    assert attachment.get_filename() == "result.xml" and attachment.get_content() == CDA
    assert receipt.delivery_type == "DirectMessaging" and receipt.endpoint == RECIPIENT
    assert receipt.transmission_status == TransmissionStatus.SENT


def test_a_tampered_message_fails_verification(hisp, ca, certs, tmp_path):
    transport_build("direct", config(hisp, ca, certs)).send(cda_payload())
    (received,) = hisp.wait_for(1)
    recipient = certs["recipient"]
    signed = pkcs7.pkcs7_decrypt_smime(received.content, recipient.certificate, recipient.key, [])
    assert signed == openssl_decrypt(received, recipient, tmp_path)  # both libraries read it alike
    tampered = signed.replace(b"PENsaW5p", b"PENsaW5q", 1)  # one base64 character of the CDA
    assert tampered != signed
    assert openssl_verify(tampered, ca, tmp_path).returncode != 0


def test_the_orders_direct_address_and_a_domain_bound_certificate(hisp, ca, certs, tmp_path):
    payload = cda_payload(recipient=Contacts(direct_address="pcp@hospital.test"))
    transport_build("direct", config(hisp, ca, certs, to_address="")).send(payload)
    (received,) = hisp.wait_for(1)
    assert received.recipients == ["pcp@hospital.test"]
    assert open_message(received, certs["clinic_domain"], tmp_path, ca).returncode == 0


def test_an_ec_signing_key_works(hisp, ca, tmp_path):
    ec_sender = ca.issue(email=SENDER, key_type="ec")
    recipient = ca.issue(email=RECIPIENT)
    endpoint = config(hisp, ca, {"sender": ec_sender, "recipient": recipient, "clinic_domain": recipient})
    transport_build("direct", endpoint).send(cda_payload())
    (received,) = hisp.wait_for(1)
    assert open_message(received, recipient, tmp_path, ca).returncode == 0


def test_temporary_refusal_is_transient_then_succeeds(hisp_with, ca, certs):
    server = hisp_with(data_replies=("451 4.3.0 mailbox busy, try again later",))
    transport = transport_build("direct", config(server, ca, certs))
    with pytest.raises(TransportError) as failure:
        transport.send(cda_payload())
    assert not failure.value.permanent and "451" in failure.value.message

    transport.send(cda_payload())
    assert len(server.wait_for(1)) == 1


def test_hisp_down_is_transient(ca, certs):
    down = SmtpServer()
    down.port = free_port()
    with pytest.raises(TransportError) as failure:
        transport_build("direct", config(down, ca, certs)).send(cda_payload())
    assert not failure.value.permanent and "refused the connection" in failure.value.message


def test_wrong_login_is_permanent(hisp, ca, certs):
    with pytest.raises(TransportError) as failure:
        transport_build("direct", config(hisp, ca, certs, smtp_password="nope")).send(cda_payload())
    assert failure.value.permanent and "535" in failure.value.message
    assert hisp.messages == []


def test_unknown_recipient_is_permanent(hisp_with, ca, certs):
    server = hisp_with(refuse_recipients={RECIPIENT: "550 5.1.1 no such Direct address"})
    with pytest.raises(TransportError) as failure:
        transport_build("direct", config(server, ca, certs)).send(cda_payload())
    assert failure.value.permanent and "550" in failure.value.message


def test_untrusted_server_certificate_is_permanent(hisp, ca, certs):
    endpoint = config(hisp, ca, certs, smtp_ca_certificate=TestCA("Other").cert_pem)
    with pytest.raises(TransportError) as failure:
        transport_build("direct", endpoint).send(cda_payload())
    assert failure.value.permanent and "could not be verified" in failure.value.message


def test_server_without_starttls_is_permanent(smtp_server, ca, certs):
    with pytest.raises(TransportError) as failure:
        transport_build("direct", config(smtp_server, ca, certs)).send(cda_payload())
    assert failure.value.permanent and "STARTTLS" in failure.value.message


@pytest.mark.parametrize("address, message", [
    ("", "there is no Direct address"),
    ("not-an-address", "is not a valid address"),
    ("someone@unknown.test", "no encryption certificate for the Direct address someone@unknown.test"),
])
def test_missing_invalid_or_uncertified_addresses_are_permanent(hisp, ca, certs, address, message):
    transport = transport_build("direct", config(hisp, ca, certs, to_address=""))
    with pytest.raises(TransportError) as failure:
        transport.send(cda_payload(recipient=Contacts(direct_address=address)))
    assert failure.value.permanent and message in failure.value.message
    assert hisp.messages == []


def test_expired_recipient_certificate_is_permanent(hisp, ca, certs):
    expired = ca.issue(email=RECIPIENT, expired=True)
    transport = transport_build("direct", config(hisp, ca, certs, recipient_certificates=expired.cert_pem,
                                                 to_address=""))
    with pytest.raises(TransportError, match="recipient's certificate expired") as failure:
        transport.send(cda_payload(recipient=Contacts(direct_address=RECIPIENT)))
    assert failure.value.permanent


@pytest.mark.parametrize("field, value, message", [
    ("from_address", "not an address", "not a valid email address"),
    ("signing_certificate", "garbage", "not a PEM certificate"),
    ("signing_key", "garbage", "not a readable PEM private key"),
    ("to_address", "nobody@elsewhere.test", "no recipient certificate is issued to nobody@elsewhere.test"),
    ("smtp_security", "ssl3", "'starttls', 'tls' or 'none'"),
])
def test_configuration_errors_name_the_field(hisp, ca, certs, field, value, message):
    with pytest.raises(ConfigError) as failure:
        DirectTransport.validate_config(config(hisp, ca, certs, **{field: value}))
    assert message in failure.value.errors[field]


def test_configuration_checks_the_certificates_fit_together(hisp, ca, certs):
    with pytest.raises(ConfigError) as failure:
        DirectTransport.validate_config(config(hisp, ca, certs, signing_key=certs["recipient"].key_pem))
    assert failure.value.errors == {"signing_key": "the private key does not belong to the signing certificate"}
    with pytest.raises(ConfigError) as failure:
        DirectTransport.validate_config(config(hisp, ca, certs, from_address="other@direct.iris.test"))
    assert "not issued to other@direct.iris.test" in failure.value.errors["signing_certificate"]
    expired = ca.issue(email=SENDER, expired=True)
    with pytest.raises(ConfigError) as failure:
        DirectTransport.validate_config(config(hisp, ca, certs, signing_certificate=expired.cert_pem,
                                               signing_key=expired.key_pem))
    assert "expired on" in failure.value.errors["signing_certificate"]


def test_secrets_keep_their_whitespace_and_are_marked(hisp, ca, certs):
    cleaned = DirectTransport.validate_config(config(hisp, ca, certs, smtp_password=" pass "))
    assert cleaned["smtp_password"] == " pass "
    assert DirectTransport.config_model.secret_fields() == {"smtp_password", "signing_key",
                                                            "signing_key_passphrase"}


def test_send_test_button(hisp, ca, certs, tmp_path):
    outcome = transport_test("direct", config(hisp, ca, certs))
    assert outcome.success, outcome.message
    (received,) = hisp.wait_for(1)
    assert open_message(received, certs["recipient"], tmp_path, ca).returncode == 0

    failed = transport_test("direct", config(hisp, ca, certs, smtp_password="nope"))
    assert not failed.success and failed.permanent and "535" in failed.message
