"""S/MIME for Direct messaging with the ``cryptography`` package: reading certificates and keys,
finding a recipient's certificate, signing (PKCS7SignatureBuilder, detached, SHA-256) and
encrypting (PKCS7EnvelopeBuilder, AES-CBC). Both produce S/MIME text that OpenSSL, and
therefore HISPs, read.

Direct (Applicability Statement 1.2) binds a certificate to a Direct address (an rfc822Name in
the subjectAltName) or to the address's domain (a dNSName): ``certificate_for`` prefers the
address-bound one.
"""
from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.ciphers import algorithms
from cryptography.hazmat.primitives.serialization import pkcs7

ENCRYPTION_ALGORITHMS = {"aes128": algorithms.AES128, "aes256": algorithms.AES256}


def certificates_load(pem: str) -> list[x509.Certificate]:
    """Every certificate of a PEM bundle; ValueError in plain words when there is none."""
    try:
        certificates = x509.load_pem_x509_certificates(pem.encode())
    except ValueError:
        raise ValueError("not a PEM certificate ('-----BEGIN CERTIFICATE-----...')") from None
    return certificates


def private_key_load(pem: str, passphrase: str = ""):
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=passphrase.encode() or None)
    except TypeError:
        raise ValueError("the private key is encrypted: enter its passphrase" if not passphrase
                         else "the private key is not encrypted: leave the passphrase empty") from None
    except ValueError:
        raise ValueError("not a readable PEM private key (or a wrong passphrase)") from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise ValueError("the private key must be RSA or EC")
    return key


def key_matches(certificate: x509.Certificate, key) -> bool:
    fmt = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return certificate.public_key().public_bytes(*fmt) == key.public_key().public_bytes(*fmt)


def certificate_bindings(certificate: x509.Certificate) -> tuple[set[str], set[str]]:
    """(addresses, domains) the certificate is bound to, lower case."""
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set(), set()
    return ({name.lower() for name in names.get_values_for_type(x509.RFC822Name)},
            {name.lower() for name in names.get_values_for_type(x509.DNSName)})


def certificate_bound_to(certificate: x509.Certificate, address: str) -> bool:
    addresses, domains = certificate_bindings(certificate)
    address = address.lower()
    return address in addresses or address.rpartition("@")[2] in domains


def certificate_problem(certificate: x509.Certificate, now: dt.datetime | None = None) -> str:
    """Why the certificate cannot be used now ('' when it can)."""
    now = now or dt.datetime.now(dt.UTC)
    if now < certificate.not_valid_before_utc:
        return f"is not valid before {certificate.not_valid_before_utc:%Y-%m-%d}"
    if now > certificate.not_valid_after_utc:
        return f"expired on {certificate.not_valid_after_utc:%Y-%m-%d}"
    return ""


def certificate_for(address: str, certificates: list[x509.Certificate]) -> x509.Certificate | None:
    """The address-bound certificate, else a domain-bound one, else None."""
    address = address.lower()
    for certificate in certificates:
        if address in certificate_bindings(certificate)[0]:
            return certificate
    for certificate in certificates:
        if certificate_bound_to(certificate, address):
            return certificate
    return None


def smime_sign(content: bytes, certificate: x509.Certificate, key, chain: list[x509.Certificate]) -> bytes:
    """``content`` (a complete MIME entity, CRLF line ends) as multipart/signed."""
    builder = pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(certificate, key, hashes.SHA256())
    for intermediate in chain:
        builder = builder.add_certificate(intermediate)
    return builder.sign(serialization.Encoding.SMIME, [pkcs7.PKCS7Options.DetachedSignature])


def smime_encrypt(content: bytes, certificate: x509.Certificate, algorithm: str = "aes256") -> bytes:
    """``content`` as application/pkcs7-mime enveloped-data for the certificate's owner."""
    return (pkcs7.PKCS7EnvelopeBuilder().set_data(content).add_recipient(certificate)
            .set_content_encryption_algorithm(ENCRYPTION_ALGORITHMS[algorithm])
            .encrypt(serialization.Encoding.SMIME, []))
