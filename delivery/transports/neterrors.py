"""Network failures in plain words, classified the same way for every transport.

Transient: refused, reset, timed out, name not resolved (DNS outages pass; bounded retries end a
real typo). Permanent: a certificate that does not verify (like a changed SSH host key, someone
must look at it)."""
from __future__ import annotations

import socket
import ssl

from .base import TransportError


def network_error(exc: BaseException, peer: str) -> TransportError:
    """A TransportError for an exception raised while talking to ``peer`` ("host:port")."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or exc.reason or str(exc)
        return TransportError(f"the TLS certificate of {peer} could not be verified ({reason})", permanent=True)
    if isinstance(exc, ssl.SSLError):
        return TransportError(f"the TLS handshake with {peer} failed ({exc.reason or exc})")
    if isinstance(exc, ConnectionRefusedError):
        return TransportError(f"{peer} refused the connection (is the server running?)")
    if isinstance(exc, TimeoutError | socket.timeout):
        return TransportError(f"{peer} did not answer in time")
    if isinstance(exc, socket.gaierror):
        return TransportError(f"the host name in {peer} could not be resolved ({exc.strerror or exc})")
    if isinstance(exc, ConnectionError | EOFError):
        return TransportError(f"the connection to {peer} was closed unexpectedly")
    if isinstance(exc, OSError):
        return TransportError(f"network error with {peer}: {exc.strerror or exc}")
    return TransportError(f"error talking to {peer}: {exc}")


def host_port(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
