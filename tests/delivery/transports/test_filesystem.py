"""Local file system transport: templates, atomic writes, error classes, the test button."""
import os
import re
import threading

import pytest

from delivery.transports import ConfigError, TransportError, transport_build
from delivery.transports.filesystem import FileSystemTransport
from delivery.transports.send_test import transport_test

from .conftest import DOCUMENT, make_payload

TEMPLATE = "{MMddyyyy}/{clientLocalId}/{orderLocalId}.pdf"


def config(base, **changes):
    return {"base_folder": str(base), "file_name_template": TEMPLATE, **changes}


def files_under(folder):
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file())


def test_writes_the_documented_example(tmp_path, payload):
    transport = transport_build("file", config(tmp_path))

    receipt = transport.send(payload)

    target = tmp_path / "09012024" / "HarborviewClinic" / "P0112X00123.pdf"
    assert target.read_bytes() == DOCUMENT
    assert receipt.endpoint == str(target) and receipt.delivery_type == "LocalFileSystem"
    assert files_under(tmp_path) == ["09012024/HarborviewClinic/P0112X00123.pdf"]  # no .part left behind


def test_a_retry_replaces_its_own_file(tmp_path, payload):
    transport = transport_build("file", config(tmp_path))
    transport.send(payload)
    transport.send(make_payload(content=b"second version"))
    assert files_under(tmp_path) == ["09012024/HarborviewClinic/P0112X00123.pdf"]
    assert (tmp_path / "09012024/HarborviewClinic/P0112X00123.pdf").read_bytes() == b"second version"


def test_suffix_mode_keeps_existing_files(tmp_path, payload):
    transport = transport_build("file", config(tmp_path, if_exists="suffix"))
    names = [os.path.basename(transport.send(payload).endpoint) for _ in range(3)]
    assert names == ["P0112X00123.pdf", "P0112X00123-2.pdf", "P0112X00123-3.pdf"]


def test_concurrent_suffix_writers_never_overwrite_each_other(tmp_path):
    transport = transport_build("file", config(tmp_path, if_exists="suffix"))
    barrier = threading.Barrier(8)

    def write(number):
        barrier.wait(timeout=10)
        transport.send(make_payload(content=f"writer {number}".encode()))

    threads = [threading.Thread(target=write, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    folder = tmp_path / "09012024" / "HarborviewClinic"
    contents = sorted(path.read_bytes() for path in folder.iterdir())
    assert contents == sorted(f"writer {n}".encode() for n in range(8))


def test_a_reader_never_sees_a_partial_file(tmp_path):
    """Whatever the watcher sees under the final name is the complete document."""
    transport = transport_build("file", config(tmp_path, file_name_template="{orderLocalId}.pdf"))
    big = b"x" * 2_000_000
    target = tmp_path / "P0112X00123.pdf"
    seen, done = set(), threading.Event()

    def watch():
        while not done.is_set():
            if target.exists():
                seen.add(len(target.read_bytes()))

    watcher = threading.Thread(target=watch)
    watcher.start()
    for _ in range(5):
        transport.send(make_payload(content=big))
    done.set()
    watcher.join(timeout=10)
    assert seen <= {len(big)}


def test_missing_base_folder_is_transient_then_succeeds(tmp_path, payload):
    share = tmp_path / "share"  # an unmounted network share
    transport = transport_build("file", config(share))

    with pytest.raises(TransportError) as failure:
        transport.send(payload)
    assert not failure.value.permanent
    assert "does not exist (is the share mounted?)" in failure.value.message

    share.mkdir()  # mounted again
    transport.send(payload)
    assert files_under(share) == ["09012024/HarborviewClinic/P0112X00123.pdf"]


def test_base_folder_that_is_a_file_is_permanent(tmp_path, payload):
    base = tmp_path / "not-a-folder"
    base.write_text("x")
    with pytest.raises(TransportError) as failure:
        transport_build("file", config(base)).send(payload)
    assert failure.value.permanent


def test_a_path_blocked_by_a_file_is_permanent(tmp_path, payload):
    (tmp_path / "09012024").write_text("a file where a folder should be")
    with pytest.raises(TransportError) as failure:
        transport_build("file", config(tmp_path)).send(payload)
    assert failure.value.permanent
    assert "P0112X00123" not in failure.value.message  # file names may hold PHI: errors name the base only


def test_empty_folder_value_is_permanent_and_names_the_token(tmp_path):
    with pytest.raises(TransportError) as failure:
        transport_build("file", config(tmp_path)).send(make_payload(site_local_id=""))
    assert failure.value.permanent
    assert "{clientLocalId}" in failure.value.message


def test_creating_folders_can_be_switched_off(tmp_path, payload):
    with pytest.raises(TransportError, match="creating folders is off") as failure:
        transport_build("file", config(tmp_path, create_folders=False)).send(payload)
    assert failure.value.permanent


def test_a_symlink_out_of_the_base_folder_is_refused(tmp_path, payload):
    base, outside = tmp_path / "base", tmp_path / "outside"
    base.mkdir()
    outside.mkdir()
    (base / "09012024").symlink_to(outside, target_is_directory=True)
    with pytest.raises(TransportError, match="links outside") as failure:
        transport_build("file", config(base)).send(payload)
    assert failure.value.permanent
    assert files_under(outside) == []


@pytest.mark.parametrize("changes, field, message", [
    ({"base_folder": "relative/path"}, "base_folder", "absolute"),
    ({"file_name_template": "../{orderLocalId}.pdf"}, "file_name_template", "escape its base folder"),
    ({"file_name_template": "/abs/{orderLocalId}.pdf"}, "file_name_template", "relative to the base folder"),
    ({"file_name_template": "{nope}.pdf"}, "file_name_template", r"unknown token \{nope\}"),
    ({"time_zone": "Mars/Olympus"}, "time_zone", "unknown time zone"),
    ({"if_exists": "append"}, "if_exists", "replace"),
    ({"colour": "red"}, "colour", "unknown field"),
])
def test_configuration_errors_name_the_field(tmp_path, changes, field, message):
    with pytest.raises(ConfigError) as failure:
        FileSystemTransport.validate_config(config(tmp_path, **changes))
    assert list(failure.value.errors) == [field]
    assert re.search(message, failure.value.errors[field])


def test_missing_fields_are_reported_together():
    with pytest.raises(ConfigError) as failure:
        FileSystemTransport.validate_config({})
    assert failure.value.errors == {"file_name_template": "this field is required",
                                    "base_folder": "this field is required"}


def test_validate_config_returns_the_cleaned_dict(tmp_path):
    cleaned = FileSystemTransport.validate_config(config(tmp_path / "x" / ".."))
    assert cleaned == {"base_folder": str(tmp_path), "file_name_template": TEMPLATE, "time_zone": "",
                       "if_exists": "replace", "create_folders": True}


def test_send_test_button(tmp_path):
    outcome = transport_test("file", config(tmp_path))
    assert outcome.success, outcome.message
    written = tmp_path.glob("*/TEST-SITE/IRIS-TEST.pdf")
    assert [path.read_bytes()[:5] for path in written] == [b"%PDF-"]

    failed = transport_test("file", config(tmp_path / "missing"))
    assert not failed.success and not failed.permanent
    assert "may be temporary" in failed.message

    invalid = transport_test("file", config(tmp_path, file_name_template="../x.pdf"))
    assert not invalid.success and invalid.permanent
    assert set(invalid.field_errors) == {"file_name_template"}
