"""A throw-away certificate authority for the tests: S/MIME certificates bound to Direct
addresses or domains, and a TLS server certificate for 127.0.0.1."""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _pem_key(key) -> str:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _pem_cert(certificate: x509.Certificate) -> str:
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: object

    @property
    def cert_pem(self) -> str:
        return _pem_cert(self.certificate)

    @property
    def key_pem(self) -> str:
        return _pem_key(self.key)


class TestCA:
    __test__ = False  # not a test class

    def __init__(self, name: str = "IRIS Test CA"):
        self.now = dt.datetime.now(dt.UTC)
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        self.certificate = (
            x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
            .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(self.now - dt.timedelta(days=1)).not_valid_after(self.now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .sign(self.key, hashes.SHA256())
        )

    @property
    def cert_pem(self) -> str:
        return _pem_cert(self.certificate)

    def issue(self, *, email: str | None = None, domain: str | None = None, ip: str | None = None,
              key_type: str = "rsa", expired: bool = False, server: bool = False) -> Issued:
        key = (rsa.generate_private_key(public_exponent=65537, key_size=2048) if key_type == "rsa"
               else ec.generate_private_key(ec.SECP256R1()))
        names: list[x509.GeneralName] = []
        if email:
            names.append(x509.RFC822Name(email))
        if domain:
            names.append(x509.DNSName(domain))
        if ip:
            names.append(x509.IPAddress(ipaddress.ip_address(ip)))
        start, end = ((self.now - dt.timedelta(days=60), self.now - dt.timedelta(days=30)) if expired
                      else (self.now - dt.timedelta(days=1), self.now + dt.timedelta(days=90)))
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.EMAIL_PROTECTION
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, email or domain or ip or "test")]))
            .issuer_name(self.name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(end)
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                         key_encipherment=key_type == "rsa", data_encipherment=False,
                                         key_agreement=False, key_cert_sign=False, crl_sign=False,
                                         encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        return Issued(builder.sign(self.key, hashes.SHA256()), key)
