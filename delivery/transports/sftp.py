"""SFTP delivery (BasicIntegrations.md: one directory for all results, template-named files,
a contact for failures) with paramiko.

- Authentication by password or private key (OpenSSH or PEM; Ed25519, ECDSA or RSA).
- The server's host key is pinned in the configuration; a server presenting another key, or a
  key of another type, is refused (permanent error: someone must confirm the change).
  ``host_key_fetch`` reads a server's key for the endpoint form to show and pin.
- Atomic upload: the file is written as ``.<name>.<random>.part`` in the target directory and
  renamed into place (``posix-rename@openssh.com`` when ``if_exists`` is ``replace``, so an
  existing file is replaced atomically; plain SFTP rename, which never overwrites, for ``suffix``).
- One connection is kept per transport instance and reused for the next send; when a reused
  connection turns out to be dead (the server closed it while idle), the send reconnects once.

Errors: connection refused/reset/timeout and SSH negotiation failures are transient; a refused
login, a host key mismatch, a missing target directory and permission denied are permanent.
"""
from __future__ import annotations

import base64
import binascii
import functools
import io
import posixpath
import socket
import threading

import paramiko
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from pydantic import Field, ValidationInfo, field_validator

from ..filenames import suffixed_names
from .base import DeliveryPayload, DeliveryReceipt, Secret, Transport, TransportError
from .naming import NamingFields, temporary_name
from .neterrors import host_port, network_error

_KEY_CLASSES = ((ed25519.Ed25519PrivateKey, paramiko.Ed25519Key), (ec.EllipticCurvePrivateKey, paramiko.ECDSAKey),
                (rsa.RSAPrivateKey, paramiko.RSAKey))


class SftpConfig(NamingFields):
    allow_folders = False  # IRIS: a single directory for all results

    host: str
    port: int = Field(22, ge=1, le=65535)
    username: str
    password: Secret = ""
    private_key_passphrase: Secret = ""
    private_key: Secret = Field("", validate_default=True)
    host_key: str
    directory: str = ""
    timeout: float = Field(30.0, gt=0, le=600)

    @field_validator("host")
    @classmethod
    def _host_only(cls, value: str) -> str:
        if not value or "://" in value or "/" in value or " " in value:
            raise ValueError("enter the server's host name or IP address only, e.g. sftp.example.com")
        return value

    @field_validator("private_key")
    @classmethod
    def _credentials(cls, value: str, info: ValidationInfo) -> str:
        if value.strip():
            private_key_load(value, info.data.get("private_key_passphrase", ""))
        elif not info.data.get("password"):
            raise ValueError("enter a password or a private key")
        return value

    @field_validator("host_key")
    @classmethod
    def _host_key(cls, value: str) -> str:
        key = host_key_parse(value)
        return f"{key.get_name()} {key.get_base64()}"

    @field_validator("directory")
    @classmethod
    def _directory(cls, value: str) -> str:
        if "\\" in value or any(part == ".." for part in value.split("/")):
            raise ValueError("use a plain '/'-separated path without '..', e.g. /upload/results")
        return value.rstrip("/") if value not in ("", "/") else value


@functools.lru_cache(maxsize=32)  # decrypting an OpenSSH key (bcrypt KDF) takes a moment
def private_key_load(text: str, passphrase: str = "") -> paramiko.PKey:
    """A paramiko key from OpenSSH/PEM text; ValueError in plain words when it cannot be read."""
    data = text.strip().encode() + b"\n"
    password = passphrase.encode() or None
    try:
        try:
            loaded = serialization.load_ssh_private_key(data, password)
        except ValueError:
            if b"OPENSSH PRIVATE KEY" in data:
                raise
            loaded = serialization.load_pem_private_key(data, password)
    except TypeError:  # encrypted without a passphrase, or a passphrase for a plain key
        raise ValueError("the private key is encrypted: enter its passphrase" if not passphrase
                         else "the private key is not encrypted: leave the passphrase empty") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ValueError("not a private key that can be read (OpenSSH or PEM; Ed25519, ECDSA or RSA)"
                         + (", or a wrong passphrase" if passphrase else "")) from None
    for key_type, key_class in _KEY_CLASSES:
        if isinstance(loaded, key_type):  # handed over unencrypted, in memory: one slow KDF, not two
            plain = loaded.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                         serialization.NoEncryption())
            return key_class.from_private_key(io.StringIO(plain.decode()))
    raise ValueError("the private key must be Ed25519, ECDSA or RSA")


def host_key_parse(text: str) -> paramiko.PKey:
    """A public host key from "type base64" (a known_hosts line or .pub file works too)."""
    words = text.split()
    for position, word in enumerate(words[:-1]):
        if word.startswith(("ssh-", "ecdsa-", "sk-", "rsa-")):
            try:
                return paramiko.PKey.from_type_string(word, base64.b64decode(words[position + 1], validate=True))
            except (paramiko.SSHException, paramiko.UnknownKeyType, ValueError, binascii.Error):
                break
    raise ValueError("enter the server's public host key, e.g. 'ssh-ed25519 AAAAC3Nza...' "
                     "(ssh-keyscan prints it; the endpoint form can fetch it)")


def host_key_fetch(host: str, port: int = 22, *, timeout: float = 15.0) -> str:
    """The host key a server presents ("type base64"), for a person to compare and pin.
    Raises TransportError when the server cannot be reached."""
    peer = host_port(host, port)
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        raise network_error(exc, peer) from None
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        key = transport.get_remote_server_key()
        return f"{key.get_name()} {key.get_base64()}"
    except (paramiko.SSHException, EOFError) as exc:
        raise TransportError(f"SSH negotiation with {peer} failed: {exc}") from None
    except OSError as exc:
        raise network_error(exc, peer) from None
    finally:
        transport.close()


class _ConnectionLost(TransportError):
    """The connection broke mid-operation: a reused connection is worth one reconnect."""


class SftpTransport(Transport):
    kind = "sftp"
    label = "SFTP"
    delivery_type = "SFTP"
    config_model = SftpConfig

    def __init__(self, config=None):
        super().__init__(config)
        self._lock = threading.Lock()
        self._client: paramiko.SSHClient | None = None
        self._sftp: paramiko.SFTPClient | None = None

    @property
    def peer(self) -> str:
        return host_port(self.config.host, self.config.port)

    def send(self, payload: DeliveryPayload) -> DeliveryReceipt:
        name = self.config.file_name(payload)
        with self._lock:
            reused = self._sftp is not None
            try:
                path = self._upload(self._session(), name, payload.content)
            except _ConnectionLost as lost:
                self.close()
                if not reused:
                    raise TransportError(lost.message) from None
                try:  # the server dropped the idle connection: once more on a fresh one
                    path = self._upload(self._session(), name, payload.content)
                except _ConnectionLost as again:
                    self.close()
                    raise TransportError(again.message) from None
        return self.receipt(f"{self.config.username}@{self.peer}:{path}", remote_id=path)

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            finally:
                self._client = self._sftp = None

    # -- connection ----------------------------------------------------------------------------

    def _alive(self) -> bool:
        """The connection and its SFTP channel are open (the server may close either)."""
        transport = self._client.get_transport() if self._client is not None else None
        return (transport is not None and transport.is_active()
                and self._sftp is not None and not self._sftp.get_channel().closed)

    def _session(self) -> paramiko.SFTPClient:
        if self._sftp is not None and self._alive():
            return self._sftp
        self.close()
        self._client, self._sftp = self._connect()
        return self._sftp

    def _connect(self) -> tuple[paramiko.SSHClient, paramiko.SFTPClient]:
        config: SftpConfig = self.config
        pinned = host_key_parse(config.host_key)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.RejectPolicy())
        known_name = config.host if config.port == 22 else f"[{config.host}]:{config.port}"
        client.get_host_keys().add(known_name, pinned.get_name(), pinned)
        pkey = private_key_load(config.private_key, config.private_key_passphrase) if config.private_key else None
        try:
            client.connect(config.host, config.port, username=config.username, password=config.password or None,
                           pkey=pkey, timeout=config.timeout, banner_timeout=config.timeout,
                           auth_timeout=config.timeout, channel_timeout=config.timeout,
                           allow_agent=False, look_for_keys=False)
            sftp = client.open_sftp()
            sftp.get_channel().settimeout(config.timeout)
        except paramiko.BadHostKeyException as exc:
            client.close()
            raise TransportError(
                f"the host key of {self.peer} does not match the pinned key: the server presented "
                f"{exc.key.get_name()} {exc.key.fingerprint}, the endpoint pins {pinned.get_name()} "
                f"{pinned.fingerprint}. If the server's key really changed, pin the new one.",
                permanent=True) from None
        except paramiko.AuthenticationException:
            client.close()
            raise TransportError(f"{self.peer} refused the login for user '{config.username}' "
                                 "(wrong password or key, or the key is not authorized)", permanent=True) from None
        except paramiko.SSHException as exc:
            client.close()
            if "known_hosts" in str(exc):
                raise TransportError(f"{self.peer} presented a host key that is not pinned",
                                     permanent=True) from None
            raise TransportError(f"SSH negotiation with {self.peer} failed: {exc}") from None
        except paramiko.ssh_exception.NoValidConnectionsError as exc:  # wraps one error per address
            client.close()
            raise network_error(next(iter(exc.errors.values()), exc), self.peer) from None
        except (OSError, EOFError) as exc:
            client.close()
            raise network_error(exc, self.peer) from None
        return client, sftp

    # -- upload --------------------------------------------------------------------------------

    def _upload(self, sftp: paramiko.SFTPClient, name: str, content: bytes) -> str:
        directory = self.config.directory
        target = posixpath.join(directory, name) if directory else name
        part = posixpath.join(directory, temporary_name(name)) if directory else temporary_name(name)
        try:
            sftp.putfo(io.BytesIO(content), part, file_size=len(content), confirm=True)
            try:
                return self._move_into_place(sftp, part, target)
            except BaseException:
                self._remove_quietly(sftp, part)
                raise
        except TransportError:
            raise
        except PermissionError:
            raise TransportError(f"permission denied writing to '{directory or '.'}' on {self.peer}",
                                 permanent=True) from None
        except FileNotFoundError:
            raise TransportError(f"the directory '{directory or '.'}' does not exist on {self.peer}",
                                 permanent=True) from None
        except (paramiko.SSHException, EOFError, OSError) as exc:
            # paramiko reports a closed connection in several ways ("Socket is closed", EOF...)
            lost = isinstance(exc, paramiko.SSHException | EOFError | ConnectionError | TimeoutError)
            if lost or not self._alive():
                reason = exc or type(exc).__name__
                raise _ConnectionLost(f"the connection to {self.peer} was lost ({reason})") from None
            raise TransportError(f"{self.peer} failed the upload: {exc.strerror or exc}") from None

    def _move_into_place(self, sftp: paramiko.SFTPClient, part: str, target: str) -> str:
        if self.config.if_exists == "replace":
            try:
                sftp.posix_rename(part, target)
            except OSError as exc:
                if exc.errno is not None:  # a real refusal (permission, missing), not "unsupported"
                    raise
                if _exists(sftp, target):  # servers without posix-rename: replace in two steps
                    sftp.remove(target)
                sftp.rename(part, target)
            return target
        for candidate in suffixed_names(target):
            if _exists(sftp, candidate):
                continue
            try:
                sftp.rename(part, candidate)  # SFTP rename never overwrites
            except OSError:
                if _exists(sftp, candidate):  # taken meanwhile
                    continue
                raise
            return candidate
        raise TransportError("more than 1000 files with this name exist; choose a more specific template",
                             permanent=True)

    @staticmethod
    def _remove_quietly(sftp: paramiko.SFTPClient, path: str) -> None:
        try:
            sftp.remove(path)
        except (OSError, EOFError, paramiko.SSHException):
            pass


def _exists(sftp: paramiko.SFTPClient, path: str) -> bool:
    try:
        sftp.stat(path)
    except FileNotFoundError:
        return False
    return True
