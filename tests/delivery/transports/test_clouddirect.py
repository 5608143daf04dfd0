"""The Cloud Direct results stream adapter against the real Redis (REDIS_URL, or the local one)."""
import json
import os
import uuid

import pytest
import redis

from delivery.transports import DocumentKind, TransportError, transport_build
from delivery.transports.send_test import transport_test
from orders.intake.clouddirect.broker import stream_keys

from .conftest import make_payload
from .servers import free_port

REDIS_URL = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/8"
RESULT = {"Version": "2.3.1", "ResultCode": "F", "Order": {"LocalId": "P0112X00123"}}


@pytest.fixture
def guid():
    """An organization of its own per test (parallel workers share the Redis database)."""
    return str(uuid.uuid4())


@pytest.fixture
def broker(settings, guid):
    settings.IRIS_CLOUDDIRECT_REDIS_URL = REDIS_URL
    client = redis.Redis.from_url(REDIS_URL)
    key = stream_keys(guid).results
    yield client, key
    client.delete(key)
    client.close()


@pytest.fixture
def result_payload(guid):
    def build(**changes):
        return make_payload(**{"content": json.dumps(RESULT).encode(), "content_type": "application/json",
                               "document_kind": DocumentKind.JSON, "client_guid": guid.upper(), **changes})
    return build


def test_result_is_added_to_the_organizations_results_stream(broker, result_payload):
    client, key = broker
    receipt = transport_build("clouddirect", {}).send(result_payload())
    ((entry_id, fields),) = client.xrange(key)
    assert entry_id.decode() == receipt.remote_id and json.loads(fields[b"body"]) == RESULT
    assert receipt.endpoint == key
    assert transport_build("clouddirect", {}).emits_receipt is False


def test_broker_down_is_transient_then_succeeds(broker, settings, result_payload):
    client, key = broker
    settings.IRIS_CLOUDDIRECT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    with pytest.raises(TransportError) as failure:
        transport_build("clouddirect", {}).send(result_payload())
    assert not failure.value.permanent and "unavailable" in failure.value.message

    settings.IRIS_CLOUDDIRECT_REDIS_URL = REDIS_URL
    transport_build("clouddirect", {}).send(result_payload())
    assert client.xlen(key) == 1


@pytest.mark.parametrize("changes, message", [
    ({"client_guid": "not-a-guid"}, "no valid ClientGuid"),
    ({"content": b"{not json"}, "not valid JSON"),
    ({"document_kind": DocumentKind.PDF}, "payload to JSON"),
])
def test_unusable_results_are_permanent(broker, result_payload, changes, message):
    client, key = broker
    with pytest.raises(TransportError, match=message) as failure:
        transport_build("clouddirect", {}).send(result_payload(**changes))
    assert failure.value.permanent
    assert client.xlen(key) == 0


def test_a_broker_refusing_the_key_is_permanent(broker, result_payload):
    client, key = broker
    client.set(key, "not a stream")  # WRONGTYPE
    with pytest.raises(TransportError) as failure:
        transport_build("clouddirect", {}).send(result_payload())
    assert failure.value.permanent and "WRONGTYPE" in failure.value.message


def test_send_test_button_checks_the_broker_without_publishing(broker, settings, guid):
    client, key = broker
    outcome = transport_test("clouddirect", {}, client_guid=guid)
    assert outcome.success, outcome.message
    assert "no sample was published" in outcome.message and client.xlen(key) == 0

    settings.IRIS_CLOUDDIRECT_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    failed = transport_test("clouddirect", {}, client_guid=guid)
    assert not failed.success and not failed.permanent
