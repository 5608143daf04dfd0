"""SFTP transport against an asyncssh SFTP server started by the test."""
import asyncssh
import pytest

from delivery.transports import ConfigError, TransportError, transport_build
from delivery.transports.send_test import transport_test
from delivery.transports.sftp import SftpTransport, host_key_fetch

from .conftest import DOCUMENT, make_payload
from .servers import SftpServer, free_port

TEMPLATE = "{orderLocalId}_{yyyyMMdd_HHmmss}.pdf"
FINAL = "P0112X00123_20240901_090421.pdf"


def config(server, **changes):
    return {"host": "127.0.0.1", "port": server.port, "username": "iris", "password": "s3cret",
            "host_key": server.host_key_line, "directory": "/upload", "file_name_template": TEMPLATE, **changes}


def listing(folder):
    return sorted(path.name for path in folder.iterdir())


def key_server(started, sftp_root, client_key) -> SftpServer:
    """A server that accepts only this client key."""
    public_key = client_key.export_public_key().decode()
    return started(SftpServer(sftp_root, password="", client_public_keys=(public_key,)))


def test_password_login_writes_the_file_atomically(sftp_server, sftp_root, payload):
    with transport_build("sftp", config(sftp_server)) as transport:
        receipt = transport.send(payload)

    assert (sftp_root / "upload" / FINAL).read_bytes() == DOCUMENT
    assert listing(sftp_root / "upload") == [FINAL]  # the .part file was renamed, nothing else left
    assert receipt.endpoint == f"iris@127.0.0.1:{sftp_server.port}:/upload/{FINAL}"
    assert receipt.remote_id == f"/upload/{FINAL}"


def test_key_login(started, sftp_root, payload):
    client_key = asyncssh.generate_private_key("ssh-ed25519")
    server = key_server(started, sftp_root, client_key)
    endpoint = config(server, password="", private_key=client_key.export_private_key().decode())
    with transport_build("sftp", endpoint) as transport:
        transport.send(payload)
    assert listing(sftp_root / "upload") == [FINAL]


def test_encrypted_rsa_key_login(started, sftp_root, payload):
    client_key = asyncssh.generate_private_key("ssh-rsa", key_size=2048)
    server = key_server(started, sftp_root, client_key)
    private = client_key.export_private_key(passphrase="open sesame", rounds=16,
                                            ignore_few_rounds=True).decode()  # a fast KDF for the test
    with pytest.raises(ConfigError, match="encrypted: enter its passphrase"):
        SftpTransport.validate_config(config(server, password="", private_key=private))
    endpoint = config(server, password="", private_key=private, private_key_passphrase="open sesame")
    with transport_build("sftp", endpoint) as transport:
        transport.send(payload)
    assert listing(sftp_root / "upload") == [FINAL]


def test_connection_is_reused_across_sends(sftp_server, sftp_root):
    with transport_build("sftp", config(sftp_server, file_name_template="{orderLocalId}.pdf")) as transport:
        for number in range(5):
            transport.send(make_payload(order_local_id=f"ORD-{number}"))
    assert sftp_server.logins == 1
    assert listing(sftp_root / "upload") == [f"ORD-{n}.pdf" for n in range(5)]


def test_reconnects_when_the_server_dropped_the_idle_connection(sftp_server, sftp_root):
    with transport_build("sftp", config(sftp_server, file_name_template="{orderLocalId}.pdf")) as transport:
        transport.send(make_payload(order_local_id="BEFORE"))
        sftp_server.drop_connections()  # e.g. the server's idle timeout
        transport.send(make_payload(order_local_id="AFTER"))  # no error: one reconnect
    assert sftp_server.logins == 2
    assert listing(sftp_root / "upload") == ["AFTER.pdf", "BEFORE.pdf"]


def test_server_down_is_transient_then_succeeds(started, sftp_root, payload):
    port = free_port()
    server = SftpServer(sftp_root)
    started(server).stop()  # the server is down (shut down for good after the test)
    with transport_build("sftp", config(server, port=port)) as transport:
        with pytest.raises(TransportError) as failure:
            transport.send(payload)
        assert not failure.value.permanent
        assert "refused the connection" in failure.value.message

        server.start(port)  # back
        transport.send(payload)
    assert listing(sftp_root / "upload") == [FINAL]


def impostor(key_type: str) -> str:
    return asyncssh.generate_private_key(key_type).export_public_key().decode()


@pytest.mark.parametrize("changes, message", [
    ({"password": "wrong"}, "refused the login for user 'iris'"),
    ({"directory": "/locked"}, "permission denied writing to '/locked'"),
    ({"directory": "/nope"}, "the directory '/nope' does not exist"),
    ({"host_key": "ssh-ed25519"}, "does not match the pinned key"),  # another key of the server's type
    ({"host_key": "ecdsa-sha2-nistp256"}, "does not match the pinned key"),  # a type the server lacks
])
def test_permanent_failures(sftp_server, sftp_root, payload, changes, message):
    if "host_key" in changes:
        changes = {"host_key": impostor(changes["host_key"])}
    with pytest.raises(TransportError) as failure:
        transport_build("sftp", config(sftp_server, **changes)).send(payload)
    assert failure.value.permanent and message in failure.value.message
    assert [path for path in sftp_root.rglob("*") if path.is_file()] == []


def test_replace_overwrites_and_suffix_keeps(sftp_server, sftp_root):
    with transport_build("sftp", config(sftp_server)) as transport:
        transport.send(make_payload(content=b"one"))
        transport.send(make_payload(content=b"two"))
    assert listing(sftp_root / "upload") == [FINAL]
    assert (sftp_root / "upload" / FINAL).read_bytes() == b"two"

    with transport_build("sftp", config(sftp_server, if_exists="suffix")) as transport:
        second = transport.send(make_payload(content=b"three"))
    assert second.remote_id.endswith("P0112X00123_20240901_090421-2.pdf")
    assert (sftp_root / "upload" / FINAL).read_bytes() == b"two"


def test_host_key_fetch_reads_the_servers_key(sftp_server):
    assert host_key_fetch("127.0.0.1", sftp_server.port) == sftp_server.host_key_line
    with pytest.raises(TransportError, match="refused the connection"):
        host_key_fetch("127.0.0.1", free_port())


@pytest.mark.parametrize("changes, field, message", [
    ({"password": ""}, "private_key", "enter a password or a private key"),
    ({"private_key": "not a key"}, "private_key", "not a private key that can be read"),
    ({"host_key": "AAAA"}, "host_key", "public host key"),
    ({"host": "sftp://example.com"}, "host", "host name"),
    ({"port": 70000}, "port", "less than or equal to 65535"),
    ({"file_name_template": "{yyyy}/{orderLocalId}.pdf"}, "file_name_template", "may not contain folders"),
    ({"directory": "/upload/../etc"}, "directory", "without '..'"),
])
def test_configuration_errors_name_the_field(sftp_server, changes, field, message):
    with pytest.raises(ConfigError) as failure:
        SftpTransport.validate_config(config(sftp_server, **changes))
    assert field in failure.value.errors and message in failure.value.errors[field]


def test_host_key_is_normalized_from_a_known_hosts_line(sftp_server):
    line = f"[127.0.0.1]:{sftp_server.port} {sftp_server.host_key_line} comment"
    cleaned = SftpTransport.validate_config(config(sftp_server, host_key=line))
    assert cleaned["host_key"] == sftp_server.host_key_line


def test_send_test_button(sftp_server, sftp_root):
    outcome = transport_test("sftp", config(sftp_server, file_name_template="{orderLocalId}.pdf"))
    assert outcome.success, outcome.message
    assert (sftp_root / "upload" / "IRIS-TEST.pdf").read_bytes()[:5] == b"%PDF-"

    refused = transport_test("sftp", config(sftp_server, password="wrong"))
    assert not refused.success and refused.permanent
    assert "refused the login" in refused.message and "will not fix itself" in refused.message
